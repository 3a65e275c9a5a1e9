#pragma once
// Numeric CSV files into a float64 [rows, cols] tensor, plain or gzip-compressed (read through
// zlib). Every data cell must be a number (as strtod reads it: 1, -2.5, 1e-3, nan, inf); cells
// may be padded with spaces and quoted ("1.5"). Blank lines are skipped. A cell that is not a
// number, an empty cell, a row with a different number of cells, or a file with no header/rows
// throws ctorch::Error naming the file, the line (1-based, counting every physical line) and the
// column (1-based).
//
// scikit-learn's iris.csv starts with a metadata line ("150,4,setosa,versicolor,virginica") and
// has no header, so it is read with {.header = false, .skip_rows = 1}: [150, 5], the last column
// being the class index. digits.csv.gz has neither: {.header = false} gives [1797, 65].
#include <cstdint>
#include <string>
#include <vector>

#include "../core/tensor.hpp"

namespace ctorch::data {

struct CsvOptions {
  bool header = true;     // the first line read holds the column names
  int64_t skip_rows = 0;  // physical lines skipped before the header / data
  char delimiter = ',';
};

struct CsvTable {
  std::vector<std::string> columns;  // from the header, else "0", "1", ... (like pandas)
  Tensor values;                     // float64 [rows, columns.size()]
};

CsvTable read_csv(const std::string& path, CsvOptions options = {});

}  // namespace ctorch::data
