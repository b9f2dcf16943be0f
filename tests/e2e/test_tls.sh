# TLS (issue #11, item 10): a certificate that does not verify fails at once, not after
# retries; --cacert FILE verifies with FILE's CAs and -k skips verification, for downloads,
# Imgur API requests and the queue worker alike. The HTTPS server is python3's, on
# loopback, with a self-signed certificate made here by openssl.
source "$TESTLIB"
command -v openssl >/dev/null || fail "openssl is not installed"
start_galleryd --count 2

# The served tree: one image and an Imgur-shaped gallery answer that links to it.
mkdir -p "$T/www/3/gallery"
fetch_reference "$BASE/i/img0000.jpg" "$T/www/a.jpg"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
  -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
  -keyout "$T/key.pem" -out "$T/cert.pem" 2>"$T/openssl.log" || fail "openssl: $(cat "$T/openssl.log")"
python3 - "$T/www" "$T/cert.pem" "$T/key.pem" "$T/https.port" 2>>"$T/https.log" <<'PY' &
import functools, http.server, os, ssl, sys
www, cert, key, port_file = sys.argv[1:]
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args): pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=www))
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
with open(port_file + ".tmp", "w") as f: f.write(str(srv.server_address[1]))
os.rename(port_file + ".tmp", port_file)
srv.serve_forever()
PY
BG_PIDS+=($!)
for i in $(seq 1 100); do [ -s "$T/https.port" ] && break; sleep 0.1; done
[ -s "$T/https.port" ] || fail "the HTTPS server did not start: $(cat "$T/https.log")"
HTTPS="https://127.0.0.1:$(cat "$T/https.port")"
printf '{"data":[{"id":"a","type":"image/jpeg","link":"%s/a.jpg"}],"success":true,"status":200}' \
  "$HTTPS" >"$T/www/3/gallery/hot"

# An untrusted certificate is permanent: one attempt, a sentence that says so, quickly
# (it used to be retried 4 times over 2.5 s).
for m in seq threads procs async; do
  run_imgpipe get -m "$m" -o "$T/bad-$m" --retries 3 --retry-wait 0.5 "$HTTPS/a.jpg"
  expect_rc 1 "mode $m: a self-signed certificate"
  expect_err "TLS certificate not accepted" "mode $m: a self-signed certificate"
  grep -q attempts "$T/err" && fail "mode $m: a certificate failure was retried: $(cat "$T/err")"
  ok "mode $m: an untrusted certificate fails at the first attempt"
done

# --cacert and -k, for downloads in every mode.
for m in seq threads procs async; do
  run_imgpipe get -m "$m" -o "$T/ca-$m" --cacert "$T/cert.pem" "$HTTPS/a.jpg"
  expect_rc 0 "mode $m with --cacert"
  cmp -s "$T/www/a.jpg" "$T/ca-$m/a.jpg" || fail "mode $m with --cacert: wrong bytes"
  run_imgpipe get -m "$m" -o "$T/k-$m" -k "$HTTPS/a.jpg"
  expect_rc 0 "mode $m with -k"
  cmp -s "$T/www/a.jpg" "$T/k-$m/a.jpg" || fail "mode $m with -k: wrong bytes"
done
ok "--cacert and -k apply to downloads in every mode"

# The Imgur API over HTTPS: -k and --cacert apply to its requests too.
export IMGUR_API_URL="$HTTPS"
run_imgpipe get -o "$T/api-bad" imgur:gallery/hot
expect_rc 1 "the API with an untrusted certificate"
expect_err "TLS certificate not accepted" "the API with an untrusted certificate"
grep -q attempts "$T/err" && fail "an API certificate failure was retried: $(cat "$T/err")"
run_imgpipe get -o "$T/api-ca" --cacert "$T/cert.pem" imgur:gallery/hot
expect_rc 0 "get from the API with --cacert"
cmp -s "$T/www/a.jpg" "$T/api-ca/a.jpg" || fail "get from the API with --cacert: wrong bytes"
run_imgpipe get -o "$T/api-k" -k imgur:gallery/hot
expect_rc 0 "get from the API with -k"
run_imgpipe links --cacert "$T/cert.pem" imgur:gallery/hot
expect_rc 0 "links with --cacert"
[ "$(cat "$T/out")" = "$HTTPS/a.jpg" ] || fail "links with --cacert: $(cat "$T/out")"
run_imgpipe links -k imgur:gallery/hot
expect_rc 0 "links with -k"
ok "-k and --cacert apply to Imgur API requests"

# A CA file that cannot be read is a usage error, before anything runs.
run_imgpipe get -o "$T/nofile" --cacert "$T/missing.pem" "$HTTPS/a.jpg"
expect_rc 2 "--cacert with a missing file"
expect_err "cannot read" "--cacert with a missing file"
[ ! -e "$T/nofile" ] || fail "--cacert with a missing file made the output directory"
ok "--cacert with a missing file is a usage error"

# So is a CA file that holds no certificate (a directory, an empty file, an image), in get,
# links and the worker alike: each transfer used to fail with it, exit status 1.
for bad in "$T" /dev/null "$T/www/a.jpg"; do
  run_imgpipe get -o "$T/nocert" --cacert "$bad" "$HTTPS/a.jpg"
  expect_rc 2 "--cacert $bad"
  expect_err "--cacert: '$bad' \(is a directory\|holds no PEM certificate\)" "--cacert $bad"
  [ ! -e "$T/nocert" ] || fail "--cacert $bad made the output directory"
  run_imgpipe links --cacert "$bad" "$HTTPS/a.jpg"
  expect_rc 2 "links --cacert $bad"
  run_imgpipe worker --burst --redis redis://127.0.0.1:1 --cacert "$bad"
  expect_rc 2 "worker --cacert $bad"
done
ok "--cacert with a directory, an empty file or no PEM certificate is a usage error"

# The queue worker verifies with --cacert too.
if command -v redis-server >/dev/null; then
  RPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$T" \
    >>"$T/redis.log" 2>&1 &
  BG_PIDS+=($!)
  for i in $(seq 1 100); do [ "$(redis-cli -p "$RPORT" ping 2>/dev/null)" = PONG ] && break; sleep 0.1; done
  R="redis://127.0.0.1:$RPORT"
  run_imgpipe enqueue -r "$R" -o "$T/q-bad" "$HTTPS/a.jpg"
  expect_rc 0 "enqueue"
  run_imgpipe worker -r "$R" --burst --retries 3
  grep -q "TLS certificate not accepted" "$T/err" || fail "worker without --cacert: $(cat "$T/err")"
  [ ! -e "$T/q-bad/a.jpg" ] || fail "worker without --cacert stored the file"
  run_imgpipe enqueue -r "$R" -o "$T/q-ca" "$HTTPS/a.jpg"
  run_imgpipe worker -r "$R" --burst --cacert "$T/cert.pem"
  expect_rc 0 "worker with --cacert"
  cmp -s "$T/www/a.jpg" "$T/q-ca/a.jpg" || fail "worker with --cacert: $(cat "$T/err")"
  ok "the worker refuses an untrusted certificate, and verifies with --cacert"
fi
