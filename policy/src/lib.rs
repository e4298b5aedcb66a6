//! require-digest: a Kubewarden policy that rejects workloads whose images are not pinned by digest.
