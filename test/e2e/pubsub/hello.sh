#!/usr/bin/env sh
# Seed 001 "Call XML Example: Hello World".
session=`curl -s -u $ZANG_ACCOUNT_SID:$ZANG_AUTH_TOKEN "$PUBSUB_URL/auth"`
# Answer URL = $PUBSUB_URL/$ZANG_ACCOUNT_SID/call.xml
req=`curl -s "$PUBSUB_URL/$ZANG_ACCOUNT_SID/call.xml?session=$session&timeout=10s"`
call_sid=`echo "$req" | grep -oh "CA\w*" | head -n 1`
curl -s "$PUBSUB_URL/$ZANG_ACCOUNT_SID/call.xml/$call_sid" \
  -H "Content-Type: application/xml" \
  -d "<Response>
    <Say>Unit test successful</Say>
</Response>"
