#!/bin/sh
# Regenerate the build system (netfilter.org style).
set -e
cd "$(dirname "$0")"
autoreconf -fi
