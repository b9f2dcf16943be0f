# HTTPS: get over TLS with HTTP/2 and over TLS with HTTP/1.1 only (nginx on loopback, a
# self-signed certificate made here): the bytes are those served, and transfers share
# connections instead of a handshake each.
source "$TESTLIB"
command -v nginx >/dev/null || fail "nginx is missing: run scripts/install-deps.sh"
command -v openssl >/dev/null || fail "openssl is missing: run scripts/install-deps.sh"

N=40
start_galleryd --count "$N"
run_imgpipe get -q -o "$T/www/i"
expect_rc 0 "the corpus, over plain http from galleryd"
[ "$(files_in "$T/www/i" | grep -vc '\.imgpipe')" -eq "$N" ] || fail "expected $N corpus images"
rm -rf "$T/www/i/.imgpipe"
curl -sf -H 'Authorization: Client-ID e2e' "$BASE/3/gallery/random/random/" >"$T/gallery.json" ||
  fail "cannot read galleryd's gallery answer"

H2=$(free_port) H1=$(free_port)
mkdir -p "$T/ngx/tmp" "$T/api/h2" "$T/api/h1"
sed "s#$BASE#https://127.0.0.1:$H2#g" "$T/gallery.json" >"$T/api/h2/gallery.json"
sed "s#$BASE#https://127.0.0.1:$H1#g" "$T/gallery.json" >"$T/api/h1/gallery.json"
chmod -R a+rX "$T" # nginx's workers may run as another user
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$T/ngx/key.pem" -out "$T/ngx/cert.pem" \
  2>"$T/openssl.log" || fail "openssl: $(cat "$T/openssl.log")"

# The h1 server closes a connection after 4 requests, so later connections are new ones
# that can resume a TLS session.
server() { # server PORT LISTEN API_DIR EXTRA
  cat <<EOF
  server {
    listen 127.0.0.1:$1 $2;
    ssl_certificate $T/ngx/cert.pem;
    ssl_certificate_key $T/ngx/key.pem;
    $4
    location /i/ { root $T/www; }
    location = /3/gallery/random/random/ {
      root $3; default_type application/json; try_files /gallery.json =404;
    }
  }
EOF
}
cat >"$T/ngx/nginx.conf" <<EOF
worker_processes 1;
pid $T/ngx/nginx.pid;
error_log $T/ngx/error.log;
events { worker_connections 1024; }
http {
  log_format conn '\$server_port \$connection \$ssl_session_reused \$server_protocol \$status \$uri';
  access_log $T/ngx/access.log conn;
  # as real hosts do: TLS 1.3, and a session cache so a new connection can resume
  ssl_protocols TLSv1.2 TLSv1.3;
  ssl_session_cache shared:SSL:10m;
  client_body_temp_path $T/ngx/tmp;
  proxy_temp_path $T/ngx/tmp;
  fastcgi_temp_path $T/ngx/tmp;
  uwsgi_temp_path $T/ngx/tmp;
  scgi_temp_path $T/ngx/tmp;
$(server "$H2" "ssl http2" "$T/api/h2" "")
$(server "$H1" "ssl" "$T/api/h1" "keepalive_requests 4;")
}
EOF
nginx -p "$T/ngx" -c "$T/ngx/nginx.conf" -e "$T/ngx/error.log" ||
  fail "nginx did not start: $(cat "$T/ngx/error.log")"
for _ in $(seq 1 50); do [ -s "$T/ngx/nginx.pid" ] && break; sleep 0.1; done
NGINX_PID=$(cat "$T/ngx/nginx.pid") || fail "nginx wrote no pid file"
BG_PIDS+=("$NGINX_PID")

# image_log PORT: the access log lines of the images served on PORT
image_log() { awk -v p="$1" '$1 == p && $6 ~ /^\/i\//' "$T/ngx/access.log"; }

same_as_corpus() { # same_as_corpus DIR WHAT
  local f n=0
  for f in "$T/www/i"/*; do
    cmp -s "$f" "$1/${f##*/}" || fail "$2: ${f##*/} differs from the served bytes"
    n=$((n + 1))
  done
  [ "$n" -eq "$N" ] || fail "$2: compared $n files, expected $N"
  [ "$(files_in "$1" | grep -vc '\.imgpipe')" -eq "$N" ] || fail "$2: extra files in $1"
}

# HTTP/2: the API over TLS (-k covers it too), every image multiplexed over a few connections.
IMGUR_API_URL=https://127.0.0.1:$H2 run_imgpipe get -q -k -j "$N" -o "$T/h2"
expect_rc 0 "get over HTTPS + HTTP/2"
same_as_corpus "$T/h2" "HTTP/2"
[ "$(image_log "$H2" | wc -l)" -eq "$N" ] || fail "HTTP/2: nginx logged $(image_log "$H2" | wc -l) images, expected $N"
image_log "$H2" | awk '$4 != "HTTP/2.0" { bad = 1 } END { exit bad }' || fail "HTTP/2: not every image came over HTTP/2"
conns=$(image_log "$H2" | awk '{ print $2 }' | sort -u | wc -l)
[ "$conns" -le 4 ] || fail "HTTP/2: $N images used $conns TLS connections (at most 4: they should multiplex)"
ok "HTTPS + HTTP/2: $N images byte-identical over $conns TLS connection(s)"

# Without -k the self-signed certificate is refused: verification is on by default.
IMGUR_API_URL=https://127.0.0.1:$H2 run_imgpipe get -q -o "$T/refused"
[ "$RC" -ne 0 ] || fail "a self-signed certificate must be refused without -k"
ok "the certificate is verified without -k"

# HTTP/1.1 only: keep-alive connections serve several images each.
J=8
IMGUR_API_URL=https://127.0.0.1:$H1 run_imgpipe get -q -k -j "$J" -o "$T/h1"
expect_rc 0 "get over HTTPS, HTTP/1.1 only"
same_as_corpus "$T/h1" "HTTP/1.1"
image_log "$H1" | awk '$4 != "HTTP/1.1" { bad = 1 } END { exit bad }' || fail "HTTP/1.1: expected only HTTP/1.1"
conns=$(image_log "$H1" | awk '{ print $2 }' | sort -u | wc -l)
# 4 requests per connection: at least N/4 connections; with keep-alive no more than N/4 + J
[ "$conns" -le $((N / 4 + J)) ] || fail "HTTP/1.1: $conns connections for $N images: keep-alive not reused"
ok "HTTPS, HTTP/1.1: $N images byte-identical over $conns keep-alive connections"

# One transfer at a time over connections the server closes after 4 requests: the handles
# take turns, and each new connection resumes the TLS session the first one made,
# whichever handle opened it.
: >"$T/ngx/access.log"
IMGUR_API_URL=https://127.0.0.1:$H1 run_imgpipe get -q -k -j 1 -o "$T/h1-j1"
expect_rc 0 "get -j 1 over HTTPS, HTTP/1.1 only"
same_as_corpus "$T/h1-j1" "HTTP/1.1 -j 1"
conns=$(image_log "$H1" | awk '{ print $2 }' | sort -u | wc -l)
fresh=$(image_log "$H1" | awk '$3 != "r" { print $2 }' | sort -u | wc -l)
[ "$conns" -ge $((N / 4)) ] || fail "HTTP/1.1 -j 1: $conns connections, the server allows 4 requests each"
[ "$fresh" -eq 1 ] || fail "HTTP/1.1 -j 1: $fresh of $conns connections made a full handshake, expected only the first"
ok "HTTPS, HTTP/1.1: $conns connections, one full handshake, the others resumed"
