# The handler: `handler EVENT REQUEST_ID` prints the response. No jq: Lambda's provided.al2023 image has none.
handler() {
  local event="$1" request_id="$2"
  echo "handling $request_id" >&2
  if grep -q '"eventSource": *"aws:sqs"' <<<"$event"; then
    mkdir -p "$OUT_DIR"
    printf '%s' "$event" > "$OUT_DIR/custom-$request_id.json"
    echo '{"batchItemFailures": []}'
  elif grep -q '"body": *"fail"' <<<"$event"; then
    echo "asked to fail" >&2
    return 1
  else
    printf '{"runtime": "bash", "shout": "%s", "function": "%s", "requestId": "%s", "event": %s}' \
      "$(shout hello from bash)" "$AWS_LAMBDA_FUNCTION_NAME" "$request_id" "$event"
  fi
}
