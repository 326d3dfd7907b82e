/**
 * Error catalog of the container runtime (runc, OCI bundles, cgroups, logs, exec, pod files).
 * Codes are stable: callers (the pod manager, the API edge) branch on them, never on the text.
 */
import { defineError } from '../core/errors.js';

export const RuncNotFound = defineError(
  'MBX_RUNTIME_RUNC_NOT_FOUND',
  (path: string) => `runc was not found at ${path}: install the Debian package runc (apt-get install runc)`,
);

export const ImageNotFound = defineError(
  'MBX_RUNTIME_IMAGE_NOT_FOUND',
  (image: string) =>
    `image "${image}" is not available: only "image: host" (this machine's own root filesystem, read-only) ` +
    `is supported until the images milestone; set image: host`,
  { httpStatus: 422 },
);

export const RuncFailed = defineError(
  'MBX_RUNTIME_RUNC_FAILED',
  (op: string, id: string, detail: string) => `runc ${op} of container ${id} failed: ${detail}`,
);

export const ContainerStartFailed = defineError(
  'MBX_RUNTIME_START_FAILED',
  (id: string, detail: string) =>
    `container ${id} did not start: ${detail}; check the command exists in the host filesystem and the runc log`,
);

export const ContainerNotFound = defineError(
  'MBX_RUNTIME_CONTAINER_NOT_FOUND',
  (id: string) => `container ${id} does not exist (it was removed or never started); list containers to see what runs`,
  { httpStatus: 404 },
);

export const ContainerExists = defineError(
  'MBX_RUNTIME_CONTAINER_EXISTS',
  (id: string) => `container ${id} already exists: remove it first or use a new id (e.g. with the restart count)`,
  { httpStatus: 409 },
);

export const ContainerNotRunning = defineError(
  'MBX_RUNTIME_CONTAINER_NOT_RUNNING',
  (id: string) => `container ${id} is not running, so it cannot exec a command; wait for its restart`,
  { httpStatus: 409, retryable: true },
);

export const HostRootfsFailed = defineError(
  'MBX_RUNTIME_HOST_ROOTFS_FAILED',
  (path: string, detail: string) =>
    `cannot prepare the read-only host root filesystem at ${path}: ${detail}; meshbox must run as root with mount rights`,
);

export const InvalidSubPath = defineError(
  'MBX_RUNTIME_INVALID_SUBPATH',
  (subPath: string, volume: string) =>
    `subPath "${subPath}" of volume ${volume} is invalid: use a relative path without ".." that stays inside the volume`,
  { httpStatus: 422 },
);

export const VolumeSourceNotFound = defineError(
  'MBX_RUNTIME_VOLUME_SOURCE_NOT_FOUND',
  (kind: string, name: string, volume: string) =>
    `${kind} ${name} for volume ${volume} does not exist: create it, or mark the volume optional`,
  { retryable: true, httpStatus: 422 },
);

export const VolumeKeyNotFound = defineError(
  'MBX_RUNTIME_VOLUME_KEY_NOT_FOUND',
  (kind: string, name: string, key: string) =>
    `${kind} ${name} has no key "${key}" named in the volume's items: add the key or fix items[].key`,
  { retryable: true, httpStatus: 422 },
);

export const HostPathTypeMismatch = defineError(
  'MBX_RUNTIME_HOSTPATH_TYPE',
  (path: string, want: string, detail: string) =>
    `hostPath ${path} is not a ${want} (${detail}): create it or change hostPath.type`,
  { httpStatus: 422 },
);

export const UnknownVolume = defineError(
  'MBX_RUNTIME_UNKNOWN_VOLUME',
  (volume: string, container: string) =>
    `container ${container} mounts volume "${volume}" that the pod does not define: add it to spec.volumes`,
  { httpStatus: 422 },
);

export const CgroupFailed = defineError(
  'MBX_RUNTIME_CGROUP_FAILED',
  (path: string, detail: string) => `cgroup ${path}: ${detail}; check that the cgroup file systems are mounted`,
);

export const NoCommand = defineError(
  'MBX_RUNTIME_NO_COMMAND',
  (container: string) =>
    `container ${container} has no command: image "host" has no default entrypoint, so set command (and args)`,
  { httpStatus: 422 },
);
