#!/usr/bin/env sh
# Seed 001 "Call XML Example: Gather".

echo "Getting the auth token..."
session=`curl -s -u $ZANG_ACCOUNT_SID:$ZANG_AUTH_TOKEN $PUBSUB_URL/auth`

echo "Waiting for the call to be answered..."
req=`curl -s "$PUBSUB_URL/$ZANG_ACCOUNT_SID/call.xml?session=$session&timeout=10s"`
call_sid=`echo "$req" | grep -oh "CA\w*" | head -n 1`
echo "Call Call Answered: $call_sid"
echo "================"

echo "Executing Gather XML on the call..."
cat <<EOF | curl -s "$PUBSUB_URL/$ZANG_ACCOUNT_SID/call.xml/$call_sid" -H "Content-Type: application/xml" -d @-
<Response>
  <Gather action="$PUBSUB_URL/$ZANG_ACCOUNT_SID/calls/events/NodeId-11/$call_sid.xml?event-type=gather-action&amp;callId=callID&amp;routeId=routeId&amp;mediaRequestID=requestId" timeout="10" finishOnKey="#" numDigits="2">
    <Say loop="2" voice="woman">hello hello I am here</Say>
  </Gather>
  <Say>No digits detected</Say>
  <Hangup />
</Response>
EOF
echo "================"

echo "Waiting for digits to be pressed..."
req=`curl -s "$PUBSUB_URL/$ZANG_ACCOUNT_SID/calls/events/NodeId-11/$call_sid.xml?session=$session&timeout=30s"`
digits=`echo "$req" | grep -oh "\"Digits\":\"\w*" | cut -d '"' -f 4`
echo "Got Digits: $digits"
echo "================"

echo "Executing Thank You XML on the call..."
cat <<EOF | curl -s "$PUBSUB_URL/$ZANG_ACCOUNT_SID/calls/events/NodeId-11/$call_sid.xml/$call_sid" -H "Content-Type: application/xml" -d @-
<Response>
  <Say>You pressed $digits. Good bye.</Say>
  <Hangup />
</Response>
EOF
echo "================"
