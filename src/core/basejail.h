/* Basejails: their system directories are read-only ZFS clones of the release's
 * masters (POOL/iocell/base/REL/DIR@release), re-cloned from the jail's current
 * release at every start. */
#ifndef IOC_BASEJAIL_H
#define IOC_BASEJAIL_H

#include "core/jail.h"

int basejail_reclone(const struct jail *j);

#endif
