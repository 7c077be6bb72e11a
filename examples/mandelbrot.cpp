// mandelbrot: renders the Mandelbrot set into a PNG file, one job per row.
//
// What it shows: green::parallel_for over uneven work. A pixel costs one
// iteration of z = z*z + c until z escapes, or max_iter if it never does, so
// rows through the black set cost far more than rows at the edge. Splitting
// the rows into a few equal halves would leave one worker with the heavy
// middle; with grain 1 every row is a job and idle workers steal what is
// left, so the work evens out by itself.
//
// The PNG is written by the program itself (no library): PNG wants its pixels
// as a zlib stream, and a zlib stream may hold "stored" (uncompressed)
// deflate blocks, so all it takes is a CRC-32 per chunk and an Adler-32.
//
//   mandelbrot [out.png [width [height [workers]]]]
//
// defaults: mandelbrot.png, 1200 x 800, workers 0 (one per CPU). Then open
// the PNG in any image viewer.
#include <green/green.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

constexpr int kMaxIter = 1000;

// ---- the picture ---------------------------------------------------------------

struct Image {
  int width, height;
  std::vector<std::uint8_t> rgb;  // 3 bytes per pixel, row after row
  Image(int w, int h) : width(w), height(h), rgb(std::size_t(w) * std::size_t(h) * 3) {}
};

// How many iterations c = (cx, cy) takes to escape, or kMaxIter.
int escape_time(double cx, double cy) {
  double x = 0, y = 0;
  int i = 0;
  while (i < kMaxIter && x * x + y * y <= 4.0) {
    double xt = x * x - y * y + cx;
    y = 2 * x * y + cy;
    x = xt;
    ++i;
  }
  return i;
}

// Row y of the image: the region [-2.2, 0.8] x [-1, 1] of the complex plane.
void render_row(Image& img, int y) {
  double cy = 1.0 - 2.0 * y / std::max(img.height - 1, 1);
  for (int x = 0; x < img.width; ++x) {
    double cx = -2.2 + 3.0 * x / std::max(img.width - 1, 1);
    int n = escape_time(cx, cy);
    std::uint8_t* p = &img.rgb[(std::size_t(y) * std::size_t(img.width) + std::size_t(x)) * 3];
    if (n == kMaxIter) {  // in the set: black
      p[0] = p[1] = p[2] = 0;
    } else {              // outside: a green glow, brighter the slower it escaped
      double t = static_cast<double>(n) / kMaxIter;
      t = t < 0.1 ? t * 10 : 1.0;  // most points escape within a few dozen iterations
      p[0] = static_cast<std::uint8_t>(40 * t);
      p[1] = static_cast<std::uint8_t>(30 + 225 * t);
      p[2] = static_cast<std::uint8_t>(60 * t);
    }
  }
}

// ---- a minimal PNG writer ------------------------------------------------------

std::uint32_t crc32(const std::uint8_t* p, std::size_t n, std::uint32_t crc = 0) {
  static const auto table = [] {  // the usual table for the reflected polynomial 0xEDB88320
    std::vector<std::uint32_t> t(256);
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  crc = ~crc;
  for (std::size_t i = 0; i < n; ++i) crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

std::uint32_t adler32(const std::vector<std::uint8_t>& data) {
  std::uint32_t a = 1, b = 0;
  for (std::uint8_t byte : data) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  return (b << 16) | a;
}

void put32(std::vector<std::uint8_t>& out, std::uint32_t v) {  // big-endian, as PNG wants
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}

// A chunk: length, type, data, CRC-32 of type and data.
void put_chunk(std::vector<std::uint8_t>& out, const char* type, const std::vector<std::uint8_t>& data) {
  put32(out, static_cast<std::uint32_t>(data.size()));
  std::size_t start = out.size();
  out.insert(out.end(), type, type + 4);
  out.insert(out.end(), data.begin(), data.end());
  put32(out, crc32(&out[start], out.size() - start));
}

// The zlib stream (RFC 1950) of `raw`, in stored deflate blocks (RFC 1951 3.2.4).
std::vector<std::uint8_t> zlib_stored(const std::vector<std::uint8_t>& raw) {
  std::vector<std::uint8_t> z = {0x78, 0x01};  // deflate, 32 KiB window; no dictionary
  std::size_t pos = 0;
  do {
    std::size_t len = std::min<std::size_t>(raw.size() - pos, 65535);  // a block's maximum
    bool last = pos + len == raw.size();
    z.push_back(last ? 1 : 0);  // BFINAL, then BTYPE 00 (stored); the rest of the byte is padding
    z.push_back(static_cast<std::uint8_t>(len));  // LEN, little-endian, then NLEN = ~LEN
    z.push_back(static_cast<std::uint8_t>(len >> 8));
    z.push_back(static_cast<std::uint8_t>(~len));
    z.push_back(static_cast<std::uint8_t>(~len >> 8));
    z.insert(z.end(), raw.begin() + static_cast<std::ptrdiff_t>(pos),
             raw.begin() + static_cast<std::ptrdiff_t>(pos + len));
    pos += len;
  } while (pos < raw.size());
  put32(z, adler32(raw));
  return z;
}

bool write_png(const std::string& path, const Image& img) {
  std::vector<std::uint8_t> ihdr;
  put32(ihdr, static_cast<std::uint32_t>(img.width));
  put32(ihdr, static_cast<std::uint32_t>(img.height));
  ihdr.insert(ihdr.end(), {8, 2, 0, 0, 0});  // 8 bits, RGB, deflate, no filter, no interlace

  // Each row starts with its filter type: 0, none.
  std::vector<std::uint8_t> raw;
  std::size_t row_bytes = std::size_t(img.width) * 3;
  raw.reserve((row_bytes + 1) * std::size_t(img.height));
  for (int y = 0; y < img.height; ++y) {
    raw.push_back(0);
    auto row = img.rgb.begin() + static_cast<std::ptrdiff_t>(std::size_t(y) * row_bytes);
    raw.insert(raw.end(), row, row + static_cast<std::ptrdiff_t>(row_bytes));
  }

  std::vector<std::uint8_t> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  put_chunk(png, "IHDR", ihdr);
  put_chunk(png, "IDAT", zlib_stored(raw));
  put_chunk(png, "IEND", {});

  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return false;
  bool ok = std::fwrite(png.data(), 1, png.size(), f) == png.size();
  return std::fclose(f) == 0 && ok;
}

template <class F>
double seconds(F&& f) {
  auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  std::string path = argc > 1 ? argv[1] : "mandelbrot.png";
  int width = argc > 2 ? std::atoi(argv[2]) : 1200;
  int height = argc > 3 ? std::atoi(argv[3]) : 800;
  unsigned workers = argc > 4 ? static_cast<unsigned>(std::atoi(argv[4])) : 0;
  if (width < 1 || height < 1 || width > 20000 || height > 20000) {
    std::fprintf(stderr, "usage: mandelbrot [out.png [width [height [workers]]]]\n");
    return 2;
  }
  std::printf("rendering %d x %d, at most %d iterations a pixel\n", width, height, kMaxIter);

  Image serial(width, height);
  double t_serial = seconds([&] {
    for (int y = 0; y < height; ++y) render_row(serial, y);
  });
  std::printf("%-20s %7.3f s\n", "serial", t_serial);

  Image image(width, height);
  green::Runtime rt({.workers = workers});
  double t_parallel = rt.run([&] {
    return seconds([&] { green::parallel_for(0, height, [&](int y) { render_row(image, y); }, 1); });
  });
  char label[32];
  std::snprintf(label, sizeof label, "green, %u worker%s", rt.workers(), rt.workers() == 1 ? "" : "s");
  std::printf("%-20s %7.3f s   speedup %.2fx\n", label, t_parallel, t_serial / t_parallel);

  if (image.rgb != serial.rgb) {
    std::fprintf(stderr, "mandelbrot: the parallel image differs from the serial one\n");
    return 1;
  }
  if (!write_png(path, image)) {
    std::perror(("mandelbrot: cannot write " + path).c_str());
    return 1;
  }
  std::printf("wrote %s\n", path.c_str());
  return 0;
}
