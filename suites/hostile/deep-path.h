// Shared by deep-path-disk and deep-path-fds: descends 20 levels of
// directories with 250-character names, one handle at a time (mkdirat and
// openat relative to the previous level, closing it), so the deepest level's
// host path is over 5000 bytes, past PATH_MAX: accounting that walks the
// sandbox by full host paths cannot see what happens down there.
#include "hostile.h"
#include <sys/stat.h>

#define LEVELS 20
#define NAME_LEN 250

// Returns an open handle on the deepest directory, or exits 1.
static int descend(void) {
    char name[NAME_LEN + 1];
    memset(name, 'd', NAME_LEN);
    name[NAME_LEN] = 0;
    int dir = open("/", O_RDONLY | O_DIRECTORY);
    if (dir < 0) {
        printf("cannot open / (%s)\n", errname(errno));
        _exit(1);
    }
    for (int level = 0; level < LEVELS; level++) {
        if (mkdirat(dir, name, 0755) != 0) {
            printf("mkdir failed at level %d (%s)\n", level, errname(errno));
            _exit(1);
        }
        int next = openat(dir, name, O_RDONLY | O_DIRECTORY);
        if (next < 0) {
            printf("open failed at level %d (%s)\n", level, errname(errno));
            _exit(1);
        }
        close(dir);
        dir = next;
    }
    return dir;
}
