// Light or dark theme: follows the system setting ("system", the default) unless the user picked one with
// the switch in the top bar; the choice is kept in localStorage (it is not a secret and should survive the
// tab, unlike the session). The CSS reads <html data-theme="light|dark">: for "system" it is set from
// prefers-color-scheme here, and follows the system when that changes (e.g. night mode at dusk).

export type ThemeChoice = 'system' | 'light' | 'dark';
export const THEME_STORAGE = 'switchboard.theme';

export function storedTheme(): ThemeChoice {
  try {
    const v = localStorage.getItem(THEME_STORAGE);
    return v === 'light' || v === 'dark' ? v : 'system';
  } catch {
    return 'system';
  }
}

const systemDark = () => matchMedia('(prefers-color-scheme: dark)');
let current: ThemeChoice = 'system';
let following = false;

function paint(): void {
  const dark = current === 'dark' || (current === 'system' && systemDark().matches);
  document.documentElement.setAttribute('data-theme', dark ? 'dark' : 'light');
}

/** Applies a choice to the page (and remembers it unless `remember` is false). */
export function applyTheme(choice: ThemeChoice, remember = true): void {
  current = choice;
  if (!following) {
    following = true;
    systemDark().addEventListener('change', paint);
  }
  paint();
  if (!remember) return;
  try {
    if (choice === 'system') localStorage.removeItem(THEME_STORAGE);
    else localStorage.setItem(THEME_STORAGE, choice);
  } catch {
    // storage disabled: the choice lasts as long as the page
  }
}
