// Creates nested directories and a file inside them.
#include <sys/stat.h>
#include "fsutil.h"

int main(void) {
    if (mkdir("/newdir", 0755) != 0) { printf("mkdir /newdir: %s\n", errname(errno)); return 1; }
    if (mkdir("/newdir/deeper", 0755) != 0) { printf("mkdir /newdir/deeper: %s\n", errname(errno)); return 1; }
    if (mkdir("/newdir", 0755) == 0) { printf("second mkdir succeeded\n"); return 1; }
    printf("second mkdir: %s\n", errname(errno));
    if (write_file("/newdir/deeper/inside.txt", "w", "deep\n")) return 1;
    struct stat st;
    if (stat("/newdir/deeper", &st) == 0 && S_ISDIR(st.st_mode)) printf("/newdir/deeper is a directory\n");
    return 0;
}
