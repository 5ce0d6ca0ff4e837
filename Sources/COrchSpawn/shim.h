#ifndef CORCHSPAWN_SHIM_H
#define CORCHSPAWN_SHIM_H
#include <spawn.h>

/// glibc (2.34+) declares this only under _GNU_SOURCE, which the Glibc module is not built
/// with. Same prototype as <spawn.h>'s.
extern int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *actions, int from);

/// Closes every descriptor from `from` on in the spawned child (so a server we start
/// inherits none of ours).
static inline int orchlive_spawn_closefrom(posix_spawn_file_actions_t *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
}
#endif
