// Like fd-exhaustion, but holds directories open (opendir on / and /sub
// again and again): a directory descriptor is a host descriptor too, so it
// counts against limits.open_files (64 here) like a file.
#include <dirent.h>
#include "hostile.h"

int main(void) {
    for (int n = 0; n < 4096; n++) {
        DIR *d = opendir(n % 2 ? "/" : "/sub");
        if (!d) {
            printf("opendir failed after %d opens (%s)\n", n, errname(errno));
            return 1;
        }
    }
    printf("opened 4096 directories: no open file limit yet\n");
    fflush(stdout);
    spin_forever();
}
