/* <mv/hrt.h> - what a program can ask of the Multiverse runtime.
 * Every function is safe to call anywhere: the privileged helpers fail with
 * -EPERM (no crash) when the caller runs natively in the ROS. */
#ifndef MV_HRT_H
#define MV_HRT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 1 when the caller runs in the HRT (at CPL 0 in Nautilus), else 0. */
int mv_in_hrt(void);

/* The vCPU the caller runs on, or -1 in the ROS. */
int mv_vcpu_id(void);

/* Privileged helpers: 0 on success, -EPERM outside the HRT. */
int mv_read_cr3(uint64_t *cr3);
int mv_irq_disable(void);
int mv_irq_enable(void);

/* libmv and the embedded Nautilus version strings. */
const char *mv_version(void);

#ifdef __cplusplus
}
#endif
#endif
