#!/usr/bin/env sh
# Seed 001 "Get Session Token" + "Subscribe to a topic" + publish, with our host in the URLs.
session=`curl -s -u $ZANG_ACCOUNT_SID:$ZANG_AUTH_TOKEN "$PUBSUB_URL/auth?ttl=10m"`
curl -s "$PUBSUB_URL/$ZANG_ACCOUNT_SID/a/b?session=$session&timeout=5s" > "$OUT" &
sleep 1
curl -s "$PUBSUB_URL/$ZANG_ACCOUNT_SID/a/b" -d Custom=123 -d Param=abc
wait
