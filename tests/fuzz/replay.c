/*
 * A fuzz target without libFuzzer: its seed corpus replayed as a TAP test,
 * one test point per seed file, so make check runs every target's seeds with
 * the normal compiler (and the sanitizers, when configured with them). Linked
 * with one target's source as fuzz/replay_TARGET; arguments name other files
 * or directories to replay (a crash input, a work directory of new inputs).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tap.h"

#ifndef TT_FUZZ_TARGET
#define TT_FUZZ_TARGET "target"
#endif
#ifndef TT_FUZZ_CORPUS
#define TT_FUZZ_CORPUS "."
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* fuzz_fcgi has one; libFuzzer calls it once before any input, and so do we. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* Runs the target on one file, from a copy of exactly its size so ASan sees any over-read. */
static void
replay_file(const char *path, const char *name)
{
	size_t len = 0;
	char *bytes, desc[300];
	uint8_t *copy = NULL;

	snprintf(desc, sizeof(desc), "fuzz_%s %s", TT_FUZZ_TARGET, name);
	if (!tap_wanted(desc)) {
		ok(1, "%s", desc);	/* reported as skipped, and not run */
		return;
	}
	bytes = tap_slurp(path, &len);
	if (bytes == NULL || (copy = malloc(len ? len : 1)) == NULL) {
		ok(0, "%s: the seed can be read", desc);
		free(bytes);
		return;
	}
	memcpy(copy, bytes, len);
	free(bytes);
	ok(LLVMFuzzerTestOneInput(copy, len) == 0, "%s (%zu bytes)", desc, len);
	free(copy);
}

static int
not_hidden(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

/* A directory's files in name order, or one file. */
static void
replay_path(const char *path)
{
	struct dirent **list;
	struct stat st;
	char file[4096];
	int n;

	if (stat(path, &st) == 0 && !S_ISDIR(st.st_mode)) {
		replay_file(path, path);
		return;
	}
	if ((n = scandir(path, &list, not_hidden, alphasort)) < 0) {
		ok(0, "fuzz_%s: %s can be listed", TT_FUZZ_TARGET, path);
		return;
	}
	for (int i = 0; i < n; i++) {
		snprintf(file, sizeof(file), "%s/%s", path, list[i]->d_name);
		replay_file(file, list[i]->d_name);
		free(list[i]);
	}
	free(list);
}

int
main(int argc, char **argv)
{
	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	if (argc < 2)
		replay_path(TT_FUZZ_CORPUS);
	for (int i = 1; i < argc; i++)
		replay_path(argv[i]);
	return tap_done();
}
