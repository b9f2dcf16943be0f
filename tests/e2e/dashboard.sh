# Sourced by the dashboard tests after lib.sh: a dashboard of their own on a free loopback
# port, and the page as headless Chromium shows it.
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROMIUM" ] || fail "chromium is not installed (scripts/install-deps.sh)"
DASH_HERE=$(dirname "${BASH_SOURCE[0]}")

# start_dashboard ARGS...: sets DASH (the page's URL) and DPID.
start_dashboard() {
  "$IMGPIPE" dashboard --listen 127.0.0.1:0 "$@" >"$T/dash.out" 2>"$T/dash.err" &
  DPID=$!
  BG_PIDS+=("$DPID")
  wait_until 10 "the dashboard to listen" grep -q '^imgpipe dashboard on http' "$T/dash.out"
  DASH=$(sed -n 's/^imgpipe dashboard on //p' "$T/dash.out")
}

# dom PATH: what the page at PATH shows once its script ran, as JSON (dashboard_dom.py).
dom() {
  timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu --user-data-dir="$T/chromium" \
    --virtual-time-budget=4000 --dump-dom "$DASH${1#/}" 2>>"$T/chromium.log" >"$T/dom.html" ||
    fail "chromium could not load $DASH${1#/}: $(tail -5 "$T/chromium.log")"
  python3 "$DASH_HERE/dashboard_dom.py" <"$T/dom.html" >"$T/dom.json" || fail "cannot parse the DOM"
}
