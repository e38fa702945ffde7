// wit-world: service
// The service of suites/net/http-service.c; the spec expects another status
// and body for GET /.
#include "../../../suites/net/http-service.c"
