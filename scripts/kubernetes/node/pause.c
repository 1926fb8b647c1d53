// The pod sandbox's process (the role of registry.k8s.io/pause, which cannot be pulled here):
// holds the pod's namespaces, reaps children, exits on SIGINT/SIGTERM.
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
static void bye(int s) { (void)s; _exit(0); }
static void reap(int s) { (void)s; while (waitpid(-1, NULL, WNOHANG) > 0) {} }
int main(void) { signal(SIGINT, bye); signal(SIGTERM, bye); signal(SIGCHLD, reap); for (;;) pause(); }
