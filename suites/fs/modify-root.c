// Changes the root preopen: the harness works on a copy, so the fixture on
// disk (which read-root and list-root read) stays as it is.
#include <unistd.h>
#include "fsutil.h"

int main(void) {
    if (write_file("/data.txt", "w", "modified\n")) return 1;
    if (unlink("/sub/nested.txt") != 0) {
        printf("unlink failed (%s)\n", errname(errno));
        return 1;
    }
    if (write_file("/added.txt", "w", "added\n")) return 1;
    show_file("/data.txt", "/data.txt");
    return 0;
}
