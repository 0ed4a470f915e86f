#!/usr/bin/env sh
# Seed 001 "SMS Example", steps 2 and 3.
session=`curl -s -u $ZANG_ACCOUNT_SID:$ZANG_AUTH_TOKEN "$PUBSUB_URL/auth"`
until curl "$PUBSUB_URL/$ZANG_ACCOUNT_SID/SMS?session=$session&timeout=1s" | grep Sid;
    do echo "No messages yet.";
done
