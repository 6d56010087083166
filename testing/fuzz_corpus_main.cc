// main() for a libFuzzer target outside fuzzing builds: runs
// LLVMFuzzerTestOneInput over every file of the corpus directories given
// as arguments, so the seed corpus is a regression test in `bazel test`.
#include <dirent.h>

#include <cstdint>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  int inputs = 0;
  for (int i = 1; i < argc; ++i) {
    DIR* directory = opendir(argv[i]);
    if (directory == nullptr) {
      std::cerr << "cannot open corpus directory " << argv[i] << std::endl;
      return 1;
    }
    while (dirent* entry = readdir(directory)) {
      if (entry->d_name[0] == '.') continue;
      std::ifstream file(std::string(argv[i]) + "/" + entry->d_name,
                         std::ios::binary);
      std::stringstream contents;
      contents << file.rdbuf();
      const std::string bytes = contents.str();
      LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()),
                             bytes.size());
      ++inputs;
    }
    closedir(directory);
  }
  if (inputs == 0) {
    std::cerr << "no corpus inputs found" << std::endl;
    return 1;
  }
  std::cout << "ran " << inputs << " corpus inputs" << std::endl;
  return 0;
}
