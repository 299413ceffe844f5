#define _GNU_SOURCE /* accept4 */
/* Sockets: socketpair with send/recv and SCM_RIGHTS, TCP and UDP over loopback, options and
 * names, and error returns. Prints only what is the same on every run and architecture. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

static void check(const char *what, long r) {
    printf("%s: %s\n", what, r < 0 ? strerror(errno) : "ok");
}

static void pair_and_rights(void) {
    int sv[2];
    check("socketpair", socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
    printf("cloexec %d\n", (fcntl(sv[0], F_GETFD) & FD_CLOEXEC) != 0);
    char buf[64] = {0};
    check("send", send(sv[0], "hello pair", 10, 0));
    long n = recv(sv[1], buf, sizeof buf, 0);
    printf("recv %ld '%s'\n", n, buf);

    /* pass a pipe's read end over the socket, then read through the received fd */
    int p[2];
    check("pipe", pipe(p));
    char part1[] = "two ", part2[] = "parts";
    struct iovec iov[2] = {{part1, 4}, {part2, 5}};
    union { struct cmsghdr h; char space[CMSG_SPACE(sizeof(int))]; } ctl;
    memset(&ctl, 0, sizeof ctl);
    struct msghdr msg = {0};
    msg.msg_iov = iov;
    msg.msg_iovlen = 2;
    msg.msg_control = ctl.space;
    msg.msg_controllen = sizeof ctl.space;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &p[0], sizeof(int));
    printf("sendmsg %ld\n", (long)sendmsg(sv[0], &msg, 0));

    char in[32] = {0};
    struct iovec riov = {in, sizeof in - 1};
    union { struct cmsghdr h; char space[CMSG_SPACE(sizeof(int))]; } rctl;
    struct msghdr rmsg = {0};
    rmsg.msg_iov = &riov;
    rmsg.msg_iovlen = 1;
    rmsg.msg_control = rctl.space;
    rmsg.msg_controllen = sizeof rctl.space;
    long got = recvmsg(sv[1], &rmsg, 0);
    struct cmsghdr *rc = CMSG_FIRSTHDR(&rmsg);
    printf("recvmsg %ld '%s' controllen %zu flags %d\n", got, in, (size_t)rmsg.msg_controllen,
           rmsg.msg_flags);
    if (rc && rc->cmsg_type == SCM_RIGHTS) {
        int fd;
        memcpy(&fd, CMSG_DATA(rc), sizeof fd);
        write(p[1], "through the passed fd", 21);
        char t[32] = {0};
        printf("passed fd reads %ld '%s'\n", (long)read(fd, t, sizeof t - 1), t);
        close(fd);
    }
    close(p[0]);
    close(p[1]);
    close(sv[0]);
    close(sv[1]);
}

static void tcp(void) {
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    check("setsockopt SO_REUSEADDR", setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one));
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    check("bind", bind(ls, (struct sockaddr *)&a, sizeof a));
    check("listen", listen(ls, 4));
    socklen_t len = sizeof a;
    check("getsockname", getsockname(ls, (struct sockaddr *)&a, &len));
    printf("bound family %d len %u port nonzero %d\n", a.sin_family, len, a.sin_port != 0);
    int cs = socket(AF_INET, SOCK_STREAM, 0);
    check("connect", connect(cs, (struct sockaddr *)&a, sizeof a));
    struct sockaddr_in peer;
    socklen_t plen = sizeof peer;
    int as = accept4(ls, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC);
    printf("accept ok %d peer loopback %d\n", as >= 0,
           peer.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
    int nodelay = 1;
    check("TCP_NODELAY", setsockopt(cs, IPPROTO_TCP, TCP_NODELAY, &nodelay, sizeof nodelay));
    int v = 0;
    socklen_t vl = sizeof v;
    check("getsockopt SO_TYPE", getsockopt(cs, SOL_SOCKET, SO_TYPE, &v, &vl));
    printf("SO_TYPE %d len %u\n", v, vl);
    struct timeval tv = {2, 500000};
    check("SO_RCVTIMEO", setsockopt(as, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
    char big[100000];
    for (size_t i = 0; i < sizeof big; i++) big[i] = (char)(i * 7);
    long sent = 0;
    while (sent < (long)sizeof big) {
        long k = send(cs, big + sent, sizeof big - sent, 0);
        if (k <= 0) break;
        sent += k;
    }
    check("shutdown", shutdown(cs, SHUT_WR));
    static char got[100000];
    long total = 0, k;
    while ((k = recv(as, got + total, sizeof got - total, 0)) > 0) total += k;
    printf("tcp sent %ld received %ld equal %d eof %ld\n", sent, total,
           memcmp(big, got, sizeof big) == 0, k);
    struct sockaddr_in pn;
    socklen_t pnl = sizeof pn;
    check("getpeername", getpeername(as, (struct sockaddr *)&pn, &pnl));
    close(as);
    close(cs);
    close(ls);
}

static void udp(void) {
    int a = socket(AF_INET, SOCK_DGRAM, 0), b = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    check("udp bind", bind(b, (struct sockaddr *)&sa, sizeof sa));
    socklen_t l = sizeof sa;
    getsockname(b, (struct sockaddr *)&sa, &l);
    printf("sendto %ld\n", (long)sendto(a, "datagram!", 9, 0, (struct sockaddr *)&sa, sizeof sa));
    char buf[32] = {0};
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    long n = recvfrom(b, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
    printf("recvfrom %ld '%s' from loopback %d fromlen %u\n", n, buf,
           from.sin_addr.s_addr == htonl(INADDR_LOOPBACK), fl);
    close(a);
    close(b);
}

static void errors(void) {
    check("socket bad family", socket(12345, SOCK_STREAM, 0));
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un u = {0};
    u.sun_family = AF_UNIX;
    check("connect bad fd", connect(-1, (struct sockaddr *)&u, sizeof u));
    strcpy(u.sun_path, "/nonexistent-elfjit-socket");
    check("connect missing unix path", connect(s, (struct sockaddr *)&u, sizeof u));
    check("recv not connected", recv(s, (char *)&u, 1, MSG_DONTWAIT));
    check("getsockname bad pointer", getsockname(s, (struct sockaddr *)8, (socklen_t *)8));
    close(s);
}

int main(void) {
    pair_and_rights();
    tcp();
    udp();
    errors();
    return 0;
}
