/* replay.c: run the fuzz harness (fuzz-loop.c) over files without libFuzzer, so
 * the seed corpus and any reproducer run as an ordinary test on every compiler:
 *
 *   tide-fuzz-replay FILE|DIR...    each file, or each file in each directory
 *
 * A model violation aborts (the harness prints the rule it broke), so the exit
 * status is 0 only if every input passed; the count of inputs run is printed. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    perror(path);
    return -1;
  }
  static uint8_t buf[1 << 20];
  size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  LLVMFuzzerTestOneInput(buf, n);
  return 0;
}

static int cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv) {
  int count = 0;
  if (argc < 2) {
    fprintf(stderr, "usage: tide-fuzz-replay FILE|DIR...\n");
    return 2;
  }
  for (int i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) != 0) {
      perror(argv[i]);
      return 2;
    }
    if (!S_ISDIR(st.st_mode)) {
      if (run_file(argv[i]) != 0) return 2;
      count++;
      continue;
    }
    DIR *d = opendir(argv[i]);
    if (d == NULL) {
      perror(argv[i]);
      return 2;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
      if (e->d_name[0] == '.') continue;
      if (n == cap) {
        cap = cap ? 2 * cap : 64;
        names = realloc(names, cap * sizeof *names);
        if (names == NULL) return 2;
      }
      size_t len = strlen(argv[i]) + strlen(e->d_name) + 2;
      names[n] = malloc(len);
      if (names[n] == NULL) return 2;
      snprintf(names[n], len, "%s/%s", argv[i], e->d_name);
      n++;
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp); /* a stable order for a stable log */
    for (size_t j = 0; j < n; j++) {
      printf("replay %s\n", names[j]);
      fflush(stdout);
      if (run_file(names[j]) != 0) return 2;
      count++;
      free(names[j]);
    }
    free(names);
  }
  printf("tide-fuzz-replay: %d inputs passed\n", count);
  return count > 0 ? 0 : 1; /* an empty corpus is a broken test, not a pass */
}
