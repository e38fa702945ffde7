// The fixture has a file and a directory named *.cleanup: the harness deletes
// them before the run, so the guest must not see them.
#include <sys/stat.h>
#include "fsutil.h"

static void check(const char *path) {
    struct stat st;
    printf("%s: %s\n", path, stat(path, &st) == 0 ? "present" : "absent");
}

int main(void) {
    check("/stale.cleanup");
    check("/stale-dir.cleanup");
    check("/stale-dir.cleanup/inner.txt");
    check("/keep.txt");
    return 0;
}
