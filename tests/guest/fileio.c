/* File and directory I/O inside the directory named by argv[1]; exit status 5.
 *
 * Covers stdio buffering, raw fds, seeking, directory listing (sorted, since readdir order is
 * the file system's business), stat sizes and modes, rename/unlink/rmdir, and errno values.
 * Nothing that differs between runs is printed: paths are shown relative to argv[1].
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest.h"

static char base[512];

static const char *at(const char *rel)
{
    static char buf[4][1024];
    static int k;
    k = (k + 1) & 3;
    snprintf(buf[k], sizeof buf[k], "%s/%s", base, rel);
    return buf[k];
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list_dir(const char *rel)
{
    DIR *d = opendir(at(rel));
    if (!d) {
        printf("opendir %s failed errno=%d\n", rel, errno);
        return;
    }
    char *names[64];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 64)
        names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, n, sizeof names[0], cmp_name);
    printf("ls %s:", rel);
    for (int i = 0; i < n; i++) {
        char rp[256];
        struct stat st;
        snprintf(rp, sizeof rp, "%s/%s", rel, names[i]);
        if (strcmp(names[i], ".") && strcmp(names[i], "..") && stat(at(rp), &st) == 0)
            printf(" %s(%s,%lld)", names[i], S_ISDIR(st.st_mode) ? "d" : "f",
                   S_ISDIR(st.st_mode) ? 0LL : (long long)st.st_size);
        else
            printf(" %s", names[i]);
        free(names[i]);
    }
    printf("\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: fileio DIR\n");
        return 2;
    }
    snprintf(base, sizeof base, "%s", argv[1]);
    umask(022);

    printf("mkdir sub=%d\n", mkdir(at("sub"), 0755));
    int rc = mkdir(at("sub"), 0755); /* capture errno before printf: argument order is free */
    printf("mkdir again=%d errno_is_EEXIST=%d\n", rc, errno == EEXIST);

    /* stdio: write a generated file in uneven chunks. */
    FILE *f = fopen(at("sub/data.bin"), "wb");
    uint64_t s = 5, h = FNV_INIT;
    unsigned char chunk[1000];
    size_t total = 0;
    for (int i = 0; i < 40; i++) {
        size_t n = 1 + rng_below(&s, sizeof chunk);
        for (size_t j = 0; j < n; j++)
            chunk[j] = (unsigned char)rng_next(&s);
        h = fnv_bytes(h, chunk, n);
        total += fwrite(chunk, 1, n, f);
    }
    printf("fwrite total=%zu ftell=%ld hash=%016llx\n", total, ftell(f), (unsigned long long)h);
    fclose(f);

    f = fopen(at("sub/data.bin"), "rb");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *all = malloc((size_t)size);
    size_t got = fread(all, 1, (size_t)size, f);
    int at_eof = fgetc(f) == EOF && feof(f);
    printf("fread size=%ld got=%zu hash=%016llx eof=%d\n", size, got,
           (unsigned long long)fnv_bytes(FNV_INIT, all, got), at_eof);
    fseek(f, -100, SEEK_END);
    int c1 = fgetc(f);
    fseek(f, 17, SEEK_SET);
    int c2 = fgetc(f);
    fseek(f, 10, SEEK_CUR);
    printf("seek: c1=%d (%d) c2=%d (%d) pos=%ld\n", c1, all[size - 100], c2, all[17], ftell(f));
    fclose(f);
    free(all);

    /* Formatted text round trip. */
    f = fopen(at("notes.txt"), "w");
    for (int i = 0; i < 25; i++)
        fprintf(f, "line %d value %.3f\n", i, i * 1.25);
    fclose(f);
    f = fopen(at("notes.txt"), "a+");
    fputs("appended\n", f);
    rewind(f);
    char line[128];
    int lines = 0;
    double vsum = 0;
    while (fgets(line, sizeof line, f)) {
        int k;
        double v;
        if (sscanf(line, "line %d value %lf", &k, &v) == 2)
            vsum += v;
        lines++;
    }
    printf("text lines=%d vsum=%.3f last=%s", lines, vsum, line);
    fclose(f);

    /* Raw file descriptors. */
    int fd = open(at("raw.dat"), O_CREAT | O_RDWR | O_TRUNC, 0640);
    ssize_t w = write(fd, "0123456789abcdef", 16);
    off_t off = lseek(fd, 100, SEEK_SET);
    ssize_t w2 = write(fd, "tail", 4);
    char pb[8] = {0};
    ssize_t pr = pread(fd, pb, 6, 8);
    ssize_t pw = pwrite(fd, "XY", 2, 3);
    lseek(fd, 0, SEEK_SET);
    char rb[16] = {0};
    ssize_t r = read(fd, rb, 10);
    int fd2 = dup(fd);
    off_t cur = lseek(fd2, 0, SEEK_CUR);
    printf("raw: w=%zd off=%lld w2=%zd pread=%zd[%s] pwrite=%zd read=%zd[%.10s] dup_pos=%lld\n",
           w, (long long)off, w2, pr, pb, pw, r, rb, (long long)cur);
    printf("ftruncate=%d\n", ftruncate(fd, 50));
    close(fd2);
    close(fd);

    struct stat st;
    stat(at("raw.dat"), &st);
    printf("stat raw: size=%lld mode=%o reg=%d\n", (long long)st.st_size,
           (unsigned)(st.st_mode & 0777), S_ISREG(st.st_mode));
    chmod(at("raw.dat"), 0600);
    stat(at("raw.dat"), &st);
    printf("chmod mode=%o\n", (unsigned)(st.st_mode & 0777));
    fstatat(AT_FDCWD, at("sub"), &st, 0);
    printf("stat sub: dir=%d mode=%o\n", S_ISDIR(st.st_mode), (unsigned)(st.st_mode & 0777));

    /* Pipes within one process. */
    int p[2];
    if (pipe(p) == 0) {
        ssize_t pw2 = write(p[1], "through a pipe", 14);
        char pbuf[32] = {0};
        ssize_t prd = read(p[0], pbuf, sizeof pbuf - 1);
        printf("pipe: %zd %zd [%s]\n", pw2, prd, pbuf);
        close(p[0]);
        close(p[1]);
    }

    list_dir(".");
    list_dir("sub");

    printf("rename=%d\n", rename(at("notes.txt"), at("sub/notes-renamed.txt")));
    rc = access(at("notes.txt"), F_OK);
    printf("access old=%d errno_is_ENOENT=%d\n", rc, errno == ENOENT);
    printf("access new=%d\n", access(at("sub/notes-renamed.txt"), R_OK | W_OK));
    errno = 0;
    FILE *missing = fopen(at("no/such/file"), "r");
    printf("fopen missing=%s errno_is_ENOENT=%d\n", missing ? "ok" : "NULL", errno == ENOENT);
    rc = rmdir(at("sub"));
    printf("rmdir nonempty=%d errno_is_ENOTEMPTY=%d\n", rc, errno == ENOTEMPTY);
    list_dir("sub");

    int u = unlink(at("sub/notes-renamed.txt")) | unlink(at("sub/data.bin")) |
            unlink(at("raw.dat"));
    rc = rmdir(at("sub"));
    printf("unlink=%d rmdir=%d\n", u, rc);
    list_dir(".");

    char cwd[1024];
    if (chdir(base) == 0 && getcwd(cwd, sizeof cwd) != NULL) {
        const char *tail = strrchr(base, '/');
        size_t tl = strlen(tail ? tail : base);
        size_t cl = strlen(cwd);
        printf("chdir+getcwd suffix matches=%d\n",
               cl >= tl && strcmp(cwd + cl - tl, tail ? tail : base) == 0);
    }
    return 5;
}
