#!/bin/sh
# The milter benchmark in one go: milter protocol over a unix socket (1, 8, 64 connections),
# then end to end through a private Postfix: Postfix alone, Postfix + mailward, Postfix +
# spamass-milter + spamd, on the same messages and the same rule files. Needs root (Postfix's
# master), postfix, spamassassin and spamass-milter (scripts/debian-packages.txt).
#
#   bench/milter.sh                       # 2000 messages per mailward run, 200 for SpamAssassin
#   MAILWARD_BENCH_MESSAGES=500 MAILWARD_BENCH_SKIP_SA=1 bench/milter.sh
set -eu
cd "$(dirname "$0")/.."
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/ {print $2}') GB RAM"
echo "postfix $(postconf -h mail_version), $(spamassassin --version | head -1)"
exec cargo bench --bench milter
