/* A C header: macro fields, export macros before the return type, extern "C". */
#ifndef LOOP_H
#define LOOP_H

#ifdef __cplusplus
extern "C" {
#endif

#define LOOP_FIELDS \
  void* data;       \
  int active;

struct loop_s {
  LOOP_FIELDS
  LOOP_PRIVATE_FIELDS
};

typedef struct {
  int fd;
} handle_t;

LOOP_EXTERN int loop_run(struct loop_s* loop);

static inline int
loop_alive(const struct loop_s* loop)
{
  return loop->active;
}

#if 0
int unused(void) {
#else
int loop_close(struct loop_s* loop) {
#endif
  return 0;
}

void (*(loop_get_hook(void)))(int) {
  return 0;
}

#ifdef __cplusplus
}
#endif

#endif /* LOOP_H */
