// Shared by the interactive operation tests. Greets with argv[1] and
// $GREETER, then handles stdin line by line, flushing after each reply:
//   quit      -> say "bye after N lines" on stderr and exit with N
//   abort     -> abort() (a trap)
//   spin      -> loop forever
//   time      -> print time(NULL)
//   rand      -> read random bytes twice, say whether they differ
//   err TEXT  -> write TEXT to stderr
//   exit N    -> exit(N)
//   anything else is echoed upper-cased and counted.
// EOF on stdin acts like "quit".
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    const char *who = argc > 1 ? argv[1] : "nobody";
    const char *from = getenv("GREETER");
    if (!from) from = "nowhere";
    printf("hello %s from %s\n", who, from);
    fflush(stdout);

    char line[256];
    int count = 0;
    while (fgets(line, sizeof line, stdin)) {
        if (strcmp(line, "quit\n") == 0) break;
        if (strcmp(line, "abort\n") == 0) abort();
        if (strcmp(line, "spin\n") == 0) {
            for (volatile unsigned i = 0;; i++) {
            }
        }
        if (strcmp(line, "time\n") == 0) {
            printf("%lld\n", (long long)time(NULL));
            fflush(stdout);
            continue;
        }
        if (strcmp(line, "rand\n") == 0) {
            unsigned char a[16], b[16];
            int ok = getentropy(a, sizeof a) == 0 && getentropy(b, sizeof b) == 0;
            printf("random: %s\n", !ok ? "failed" : memcmp(a, b, sizeof a) != 0 ? "distinct" : "same");
            fflush(stdout);
            continue;
        }
        if (strncmp(line, "err ", 4) == 0) {
            fputs(line + 4, stderr);
            continue;
        }
        if (strncmp(line, "exit ", 5) == 0) exit(atoi(line + 5));
        for (char *p = line; *p; p++) *p = (char)toupper((unsigned char)*p);
        fputs(line, stdout);
        fflush(stdout);
        count++;
    }
    fprintf(stderr, "bye after %d lines\n", count);
    return count;
}
