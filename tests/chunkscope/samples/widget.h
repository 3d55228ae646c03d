// A C++ header with a .h extension: export macros, attributes and conditionals.
#ifndef WIDGET_H_
#define WIDGET_H_

#include <string>

namespace ui {

class WIDGET_EXPORT Widget : public Base {
 public:
  WIDGET_INLINE static Widget* Cast(Base* base) {
    return static_cast<Widget*>(base);
  }
  WIDGET_DEPRECATED("use Size()") int Width() const { return width_; }
  [[nodiscard]] int Size() const { return width_ * height_; }

 private:
  alignas(8) int width_;
  int height_;
};

struct __attribute__((packed)) Header {
  int magic;
};

template <typename T>
struct Traits<T, void> final {
  static T Make() { return T(); }
};

#ifdef _WIN32
inline int Native(int handle)
#else
inline int Native(long fd)
#endif
{
  return 0;
}

int Widget::Area() const { return width_ * height_; }

}  // namespace ui

#endif  // WIDGET_H_
