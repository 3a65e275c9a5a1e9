#include "csv.hpp"

#include <charconv>
#include <system_error>
#include <string_view>

#include "../core/error.hpp"
#include "../core/factories.hpp"
#include "gzfile.hpp"

namespace ctorch::data {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Splits one line into cells: trimmed, with "..." quotes removed ("" inside quotes is one ").
// Returns false (and the 0-based offending cell in bad_cell) on an unterminated quote.
bool split(std::string_view line, char delim, std::vector<std::string>& cells, size_t& bad_cell) {
  cells.clear();
  size_t i = 0;
  for (;;) {
    std::string cell;
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i < line.size() && line[i] == '"') {
      ++i;
      bool closed = false;
      while (i < line.size()) {
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') { cell += '"'; i += 2; continue; }
          ++i;
          closed = true;
          break;
        }
        cell += line[i++];
      }
      if (!closed) { bad_cell = cells.size(); return false; }
      const size_t end = line.find(delim, i);
      // anything but blanks between the closing quote and the delimiter is kept, as written
      cell += std::string(trim(line.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i)));
      cells.push_back(std::move(cell));
      if (end == std::string_view::npos) return true;
      i = end + 1;
    } else {
      const size_t end = line.find(delim, i);
      cells.emplace_back(trim(line.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i)));
      if (end == std::string_view::npos) return true;
      i = end + 1;
    }
  }
}

// std::from_chars: locale-independent ('.' is always the decimal point); also takes a leading '+'.
// Returns nullptr on success, else what is wrong with the cell.
const char* parse_number(const std::string& s, double& v) {
  if (s.empty()) return "empty cell";
  const char* bad = "is not a number";
  const char* first = s.data();
  const char* last = s.data() + s.size();
  if (first != last && *first == '+') {
    ++first;
    if (first == last || *first == '+' || *first == '-') return bad;  // "+", "++1", "+-1"
  }
  const auto [ptr, ec] = std::from_chars(first, last, v);
  if (ptr != last) return bad;
  if (ec == std::errc::result_out_of_range) return "is out of the range of float64";
  return ec == std::errc() ? nullptr : bad;
}

}  // namespace

CsvTable read_csv(const std::string& path, CsvOptions options) {
  CTORCH_CHECK(options.skip_rows >= 0, "read_csv: skip_rows must be >= 0, got {}", options.skip_rows);
  CTORCH_CHECK(options.delimiter != '"' && options.delimiter != '\n' && options.delimiter != '\r',
               "read_csv: the delimiter cannot be a quote or a line break");
  const std::string text = detail::GzFile(path).read_all();

  CsvTable out;
  std::vector<double> values;
  std::vector<std::string> cells;
  size_t ncols = 0;
  int64_t first_row_line = 0;  // the line that fixed the number of columns
  int64_t line_no = 0, rows = 0;
  bool header_pending = options.header;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    const std::string_view line(text.data() + pos, eol - pos);
    pos = eol + 1;
    ++line_no;
    if (line_no <= options.skip_rows) continue;
    if (trim(line).empty()) continue;
    size_t bad = 0;
    CTORCH_CHECK(split(line, options.delimiter, cells, bad), "read_csv: {}: line {}, column {}: unterminated quote",
                 path, line_no, bad + 1);
    if (header_pending) {
      out.columns = cells;
      ncols = cells.size();
      first_row_line = line_no;
      header_pending = false;
      continue;
    }
    if (ncols == 0) {
      ncols = cells.size();
      first_row_line = line_no;
    }
    CTORCH_CHECK(cells.size() == ncols, "read_csv: {}: line {}: expected {} columns (as on line {}), got {}", path,
                 line_no, ncols, first_row_line, cells.size());
    for (size_t c = 0; c < ncols; ++c) {
      double v = 0;
      if (const char* problem = parse_number(cells[c], v)) {
        const std::string name = c < out.columns.size() ? fmt::format(" ('{}')", out.columns[c]) : "";
        throw Error(cells[c].empty()
                        ? fmt::format("read_csv: {}: line {}, column {}{}: {}", path, line_no, c + 1, name, problem)
                        : fmt::format("read_csv: {}: line {}, column {}{}: '{}' {}", path, line_no, c + 1, name,
                                      cells[c], problem));
      }
      values.push_back(v);
    }
    ++rows;
  }
  CTORCH_CHECK(ncols > 0, "read_csv: {}: line {}, column 1: {}", path, line_no + 1,
               line_no == 0 ? std::string("the file is empty")
                            : fmt::format("no header or data: the file is empty after {} skipped (skip_rows={}) or "
                                          "blank line(s)", line_no, options.skip_rows));
  if (!options.header)
    for (size_t c = 0; c < ncols; ++c) out.columns.push_back(std::to_string(c));
  out.values = tensor(values, {rows, static_cast<int64_t>(ncols)}, kFloat64);
  return out;
}

}  // namespace ctorch::data
