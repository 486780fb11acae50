#define _GNU_SOURCE
#include "platform.h"
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

// Child A publishes the address of a known word on a pipe and waits; child B reads that word from
// A with process_vm_readv and exits 0 if it got the value. Only async-signal-safe calls after fork.
int platform_cma_works(void) {
    int address_pipe[2], pid_pipe[2];
    if (pipe(address_pipe) != 0) return -1;
    if (pipe(pid_pipe) != 0) { close(address_pipe[0]); close(address_pipe[1]); return -1; }
    pid_t a = fork();
    if (a < 0) return -1;
    if (a == 0) {
        static volatile uint64_t word = 0x5157464741ULL;
        uintptr_t where = (uintptr_t)&word;
        (void)!write(address_pipe[1], &where, sizeof where);
        pause();  // until B is done and the parent kills us
        _exit(0);
    }
    pid_t b = fork();
    if (b < 0) { kill(a, SIGKILL); waitpid(a, NULL, 0); return -1; }
    if (b == 0) {
        uintptr_t where = 0;
        if (read(address_pipe[0], &where, sizeof where) != (ssize_t)sizeof where) _exit(2);
        uint64_t value = 0;
        struct iovec local = {&value, sizeof value}, remote = {(void *)where, sizeof value};
        ssize_t n = process_vm_readv(a, &local, 1, &remote, 1, 0);
        _exit(n == (ssize_t)sizeof value && value == 0x5157464741ULL ? 0 : 1);
    }
    close(address_pipe[0]); close(address_pipe[1]); close(pid_pipe[0]); close(pid_pipe[1]);
    int status = 0;
    waitpid(b, &status, 0);
    kill(a, SIGKILL);
    waitpid(a, NULL, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) == 2) return -1;
    return WEXITSTATUS(status) == 0 ? 1 : 0;
}
