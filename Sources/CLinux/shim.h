/* Linux calls that glibc declares only under _GNU_SOURCE, which Swift's Glibc module is built without. */
#ifndef AIRLOCK_CLINUX_SHIM_H
#define AIRLOCK_CLINUX_SHIM_H

/* sync_file_range(2): start (or wait for) writeback of a byte range of a file. */
int sync_file_range(int fd, long long offset, long long nbytes, unsigned int flags);
#define AIRLOCK_SYNC_FILE_RANGE_WRITE 2u

#endif
