/*
 * The broker client moved to common/brokerclient.h; this name stays only for
 * tests/fuzz/fuzz_fcgi.c until its include line says brokerclient.h.
 */
#include "brokerclient.h"
