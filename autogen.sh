#!/bin/sh
# autogen.sh -- make ./configure on a fresh clone
set -e
cd "$(dirname "$0")"
autoreconf -fi
