// wit-world: sockets
// The TCP echo server of suites/net/tcp-echo.c, connected to by a spec that
// forgot the `sockets` proposal: the guest cannot bind, so it never prints
// an address to connect to.
#include "../../../suites/net/tcp-echo.c"
