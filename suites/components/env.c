// Prints every entry of environ, sorted (the order in which the host passes
// variables is not part of the contract), so that the test sees the whole
// environment: nothing of the host's may leak in.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

static int cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void) {
    size_t n = 0;
    while (environ && environ[n]) n++;
    char **v = malloc((n + 1) * sizeof *v);
    if (!v) return 1;
    for (size_t i = 0; i < n; i++) v[i] = environ[i];
    qsort(v, n, sizeof *v, cmp);
    printf("%zu vars\n", n);
    for (size_t i = 0; i < n; i++) printf("%s\n", v[i]);
    return 0;
}
