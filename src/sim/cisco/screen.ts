import { PNG } from 'pngjs';

/**
 * Renders what a simulated phone shows into a PNG (the /CGI/Screenshot answer): title bar, body lines or
 * menu items with the selection highlighted, prompt line, soft-key labels, the status window, a dark
 * screen when the display is off. A 5x7 bitmap font (column bytes, bit 0 = top row), scaled.
 */
const FONT_HEX =
  '0000000000 00005F0000 0007000700 147F147F14 242A7F2A12 2313086462 3649562050 0008070300 001C224100 0041221C00 2A1C7F1C2A 08083E0808 0080703000 0808080808 0000606000 2010080402 ' +
  '3E5149453E 00427F4000 7249494946 2141494D33 1814127F10 2745454539 3C4A494931 4121110907 3649494936 464949291E 0000140000 0040340000 0008142241 1414141414 0041221408 0201590906 ' +
  '3E415D594E 7C1211127C 7F49494936 3E41414122 7F4141413E 7F49494941 7F09090901 3E41415173 7F0808087F 00417F4100 2040413F01 7F08142241 7F40404040 7F021C027F 7F0408107F 3E4141413E ' +
  '7F09090906 3E4151215E 7F09192946 2649494932 03017F0103 3F4040403F 1F2040201F 3F4038403F 6314081463 0304780403 6159494D43 007F414141 0204081020 004141417F 0402010204 4040404040 ' +
  '0003070800 2054547840 7F28444438 3844444428 384444287F 3854545418 00087E0902 18A4A49C78 7F08040478 00447D4000 2040403D00 7F10284400 00417F4000 7C04780478 7C08040478 3844444438 ' +
  'FC18242418 18242418FC 7C08040408 4854545424 04043F4424 3C4040207C 1C2040201C 3C4030403C 4428102844 4C9090907C 4464544C44 0008364100 0000770000 0041360800 0201020402';

const GLYPHS: number[][] = FONT_HEX.split(' ').map((h) =>
  [0, 2, 4, 6, 8].map((i) => Number.parseInt(h.slice(i, i + 2), 16)),
);

export interface ScreenView {
  displayOn: boolean;
  title: string;
  prompt: string;
  lines: string[];
  items: string[];
  selected: number;
  softkeys: string[];
  status?: { text: string } | undefined;
  call?: string | undefined;
}

type RGB = [number, number, number];

class Canvas {
  readonly png: PNG;
  constructor(
    readonly width: number,
    readonly height: number,
    bg: RGB,
  ) {
    this.png = new PNG({ width, height });
    this.fill(0, 0, width, height, bg);
  }
  fill(x: number, y: number, w: number, h: number, c: RGB): void {
    const x0 = Math.max(0, x);
    const y0 = Math.max(0, y);
    const x1 = Math.min(this.width, x + w);
    const y1 = Math.min(this.height, y + h);
    for (let yy = y0; yy < y1; yy++) {
      for (let xx = x0; xx < x1; xx++) {
        const i = (yy * this.width + xx) * 4;
        this.png.data[i] = c[0];
        this.png.data[i + 1] = c[1];
        this.png.data[i + 2] = c[2];
        this.png.data[i + 3] = 255;
      }
    }
  }
  text(x: number, y: number, s: string, scale: number, c: RGB, maxWidth: number): void {
    let cx = x;
    for (const ch of s) {
      if (cx + 5 * scale > x + maxWidth) break;
      const code = ch.charCodeAt(0);
      const g = GLYPHS[code >= 32 && code <= 126 ? code - 32 : 31]!;
      for (let col = 0; col < 5; col++) {
        for (let row = 0; row < 8; row++)
          if ((g[col]! >> row) & 1) this.fill(cx + col * scale, y + row * scale, scale, scale, c);
      }
      cx += 6 * scale;
    }
  }
}

const WHITE: RGB = [255, 255, 255];
const BLACK: RGB = [0, 0, 0];
const BAR: RGB = [20, 60, 120];
const SEL: RGB = [200, 220, 255];

/** Character cell size for a display width (used by the simulator to wrap text). */
export function fontScale(width: number): number {
  return Math.max(1, Math.min(3, Math.floor(width / 240)));
}

/** How many 5x7 characters (6 px advance) fit in `maxWidth` at `scale`. */
function fits(maxWidth: number, scale: number): number {
  return Math.max(0, Math.floor((maxWidth - 5 * scale) / (6 * scale)) + 1);
}

/**
 * Word-wraps one body line to `cols` characters, as phone firmware wraps CiscoIPPhoneText (research A4: "the
 * firmware does paging/wrap"); words longer than a row are cut.
 */
export function wrapLine(line: string, cols: number): string[] {
  if (cols <= 0) return [];
  if (line.length <= cols) return [line];
  const out: string[] = [];
  let cur = '';
  for (const word of line.split(/ +/)) {
    let w = word;
    while (w.length > cols) {
      if (cur) {
        out.push(cur);
        cur = '';
      }
      out.push(w.slice(0, cols));
      w = w.slice(cols);
    }
    if (!cur) cur = w;
    else if (cur.length + 1 + w.length <= cols) cur += ` ${w}`;
    else {
      out.push(cur);
      cur = w;
    }
  }
  if (cur) out.push(cur);
  return out;
}

interface Draw {
  role: 'title' | 'body' | 'item' | 'call' | 'prompt' | 'softkey' | 'status';
  x: number;
  y: number;
  text: string;
  maxWidth: number;
  selected?: boolean;
}

/** Where every piece of text goes on a display of this size (what renderScreen draws, what screenText reads). */
function layout(
  v: ScreenView,
  size: { width: number; height: number },
): { draws: Draw[]; sc: number; lh: number; pad: number; width: number; height: number } {
  const width = Math.min(size.width, 1280);
  const height = Math.min(size.height, 800);
  const sc = fontScale(width);
  const lh = 10 * sc;
  const pad = 2 * sc;
  const draws: Draw[] = [];
  if (!v.displayOn) return { draws, sc, lh, pad, width, height };
  draws.push({ role: 'title', x: pad, y: pad, text: v.title, maxWidth: width - 2 * pad });
  let y = lh + 3 * pad;
  const bottom = height - 2 * (lh + 2 * pad);
  const cols = fits(width - 2 * pad, sc);
  const body = v.lines.flatMap((l) => wrapLine(l, cols));
  for (const line of body) {
    if (y + lh > bottom) break;
    draws.push({ role: 'body', x: pad, y, text: line, maxWidth: width - 2 * pad });
    y += lh;
  }
  for (const [i, it] of v.items.entries()) {
    if (y + lh > bottom) break;
    draws.push({
      role: 'item',
      x: pad,
      y,
      text: `${i + 1} ${it}`,
      maxWidth: width - 2 * pad,
      selected: i === v.selected,
    });
    y += lh;
  }
  if (v.call) draws.push({ role: 'call', x: pad, y: bottom - lh, text: v.call, maxWidth: width - 2 * pad });
  draws.push({
    role: 'prompt',
    x: pad,
    y: height - 2 * (lh + pad),
    text: v.prompt,
    maxWidth: width - 2 * pad,
  });
  const n = Math.max(1, v.softkeys.length);
  const w = Math.floor(width / n);
  for (const [i, k] of v.softkeys.entries())
    draws.push({ role: 'softkey', x: i * w + pad, y: height - lh - pad, text: k, maxWidth: w - 2 * pad });
  if (v.status) {
    const bw = Math.min(width - 4 * pad, 60 * sc * 6);
    const bx = Math.floor((width - bw) / 2);
    const by = Math.floor(height / 2) - lh;
    draws.push({
      role: 'status',
      x: bx + pad,
      y: by + Math.floor(lh / 2),
      text: v.status.text,
      maxWidth: bw - 2 * pad,
    });
  }
  return { draws, sc, lh, pad, width, height };
}

/**
 * The text a screenshot of this view shows, row by row, cut where the pixels are cut: title, wrapped body
 * rows that fit, prompt, and the soft keys as `[Ack] [Call back] [Exit]`. For golden tests of what a guard
 * can read on each display size.
 */
export function screenText(v: ScreenView, size: { width: number; height: number }): string {
  const l = layout(v, size);
  if (!v.displayOn) return '(display off)';
  const cut = (d: Draw) => d.text.slice(0, fits(d.maxWidth, l.sc));
  const rows = l.draws.filter((d) => d.role !== 'softkey').map(cut);
  const keys = l.draws.filter((d) => d.role === 'softkey').map((d) => `[${cut(d)}]`);
  return [...rows, keys.join(' ')].join('\n');
}

export function renderScreen(v: ScreenView, size: { width: number; height: number }): Buffer {
  const l = layout(v, size);
  const { sc, lh, pad, width, height } = l;
  const c = new Canvas(width, height, v.displayOn ? WHITE : BLACK);
  if (!v.displayOn) return PNG.sync.write(c.png);
  c.fill(0, 0, width, lh + 2 * pad, BAR);
  c.fill(0, height - lh - 2 * pad, width, lh + 2 * pad, [230, 230, 230]);
  for (const d of l.draws) {
    switch (d.role) {
      case 'title':
        c.text(d.x, d.y, d.text, sc, WHITE, d.maxWidth);
        break;
      case 'item':
        if (d.selected) c.fill(0, d.y - sc, width, lh, SEL);
        c.text(d.x, d.y, d.text, sc, BLACK, d.maxWidth);
        break;
      case 'call':
        c.text(d.x, d.y, d.text, sc, BAR, d.maxWidth);
        break;
      case 'status': {
        const bw = d.maxWidth + 2 * pad;
        const bx = d.x - pad;
        const by = d.y - Math.floor(lh / 2);
        c.fill(bx, by, bw, 2 * lh, BLACK);
        c.fill(bx + sc, by + sc, bw - 2 * sc, 2 * lh - 2 * sc, [255, 240, 160]);
        c.text(d.x, d.y, d.text, sc, BLACK, d.maxWidth);
        break;
      }
      default:
        c.text(d.x, d.y, d.text, sc, BLACK, d.maxWidth);
    }
  }
  return PNG.sync.write(c.png);
}
