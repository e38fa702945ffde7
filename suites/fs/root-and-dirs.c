// A root preopen plus a directory preopened inside it (/mnt/data): paths
// resolve to the longest matching preopen.
#include "fsutil.h"

int main(void) {
    show_file("/data.txt", "/data.txt");
    show_file("/mnt/data/file.txt", "/mnt/data/file.txt");
    if (write_file("/mnt/data/written.txt", "w", "into the mount\n")) return 1;
    if (write_file("/written.txt", "w", "into the root\n")) return 1;
    return 0;
}
