// wit-world: service
// The HTTP client service of http-client.c, with a `closed` upstream server:
// its outgoing request fails and it answers 502 with the error code.
#include "http-client.c"
