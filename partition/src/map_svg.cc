// RenderMapSvg: the partition map as an SVG a person reads at 100%.
//
// The blocks stand in one column in data-flow order (graph inputs, the
// partitions and what no partition keeps, graph outputs). Below each block
// are the tensors leaving it, one line each: name, dtype[shape], and the
// marks they pass (◆). An edge to the next block is a straight arrow; one
// that skips blocks runs in a lane on the left, one that goes back up in a
// lane on the right. Text is monospace, so its width is known without font
// metrics, and long lines are cut with "…" (the full text is the line's
// tooltip): the drawing's size depends on the number of blocks and boundary
// tensors only. No layout engine, script or font is needed to make or view
// it.
#include <mmdeploy/partition/partition_map.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "utf8_text.h"

namespace mmdeploy::partition {
namespace {

using Text = std::u32string;

constexpr int kFont = kMapFontPx;  // every line but block titles
constexpr int kTitleFont = 14;     // bold
// px per character at kFont: monospace fonts advance 0.55-0.61 em.
constexpr double kCharW = 8.0;
constexpr double kTitleCharW = 8.6;
constexpr int kLine = 18;  // px between baselines
constexpr int kPad = 10;   // inside blocks
constexpr int kMargin = 16;
constexpr int kLane = 14;    // px between side lanes
constexpr int kArrowX = 24;  // the straight arrow, from the column's left
constexpr int kLabelX = 40;  // tensor lines, from the column's left
constexpr int kMinWidth = 420;
constexpr std::size_t kMaxOpLines = 2;
constexpr std::size_t kMaxNameLines = 3;
constexpr char kFontFamily[] =
    "DejaVu Sans Mono, Menlo, Consolas, Liberation Mono, monospace";
constexpr const char* kPalette[] = {"#8dd3c7", "#fdb462", "#bebada",
                                    "#fb8072", "#80b1d3", "#b3de69",
                                    "#fccde5", "#ffffb3"};

// Ops that compute nothing: listed after the others in a block's summary.
bool IsTrivialOp(const std::string& op) {
  return op == "Constant" || op == "Identity";
}

Text T(const std::string& utf8) { return DecodeUtf8(utf8); }

Text Cut(const Text& text, std::size_t limit) {
  if (text.size() <= limit) return text;
  return text.substr(0, std::max<std::size_t>(limit, 2) - 1) + U"\u2026";
}

std::string Fixed1(double value) {
  char text[64];
  std::snprintf(text, sizeof text, "%.1f", value);
  return text;
}

enum class Style { kPlain, kBold, kType, kMark, kDim };

struct Span {
  Text text;
  Style style = Style::kPlain;
};

struct Line {
  std::vector<Span> spans;
  Text text() const {
    Text all;
    for (const Span& s : spans) all += s.text;
    return all;
  }
};

Line Plain(Text text, Style style = Style::kPlain) {
  return Line{{Span{std::move(text), style}}};
}

Text Join(const std::vector<Text>& items, const Text& sep) {
  Text out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += sep;
    out += items[i];
  }
  return out;
}

// `items` joined by `sep` into at most `max_lines` lines of `limit`
// characters; what does not fit is counted as "+N more".
std::vector<Text> ItemsLines(const std::vector<Text>& items, std::size_t limit,
                             std::size_t max_lines, const Text& sep) {
  std::vector<std::vector<Text>> rows(1);
  for (std::size_t i = 0; i < items.size(); ++i) {
    const Text item = Cut(items[i], limit);
    auto& row = rows.back();
    std::vector<Text> with = row;
    with.push_back(item);
    if (row.empty() || Join(with, sep).size() <= limit) {
      row.push_back(item);
      continue;
    }
    if (rows.size() < max_lines) {
      rows.push_back({item});
      continue;
    }
    std::size_t hidden = items.size() - i;
    auto more = [&] { return T("+" + std::to_string(hidden) + " more"); };
    for (;;) {
      std::vector<Text> trial = row;
      trial.push_back(more());
      if (row.empty() || Join(trial, sep).size() <= limit) break;
      row.pop_back();
      ++hidden;
    }
    row.push_back(more());
    break;
  }
  std::vector<Text> lines;
  for (const auto& row : rows) {
    if (!row.empty()) lines.push_back(Join(row, sep));
  }
  return lines;
}

std::vector<Text> OpItems(const Block& block) {
  std::vector<Text> real;
  std::vector<Text> trivial;
  for (const auto& [op, count] : block.op_counts) {
    (IsTrivialOp(op) ? trivial : real).push_back(T(op + " " + std::to_string(count)));
  }
  real.insert(real.end(), trivial.begin(), trivial.end());
  return real;
}

std::vector<Line> BlockLines(const Block& block, std::size_t limit) {
  std::vector<Line> lines;
  if (block.kind == BlockKind::kInputs || block.kind == BlockKind::kOutputs) {
    const auto& values =
        block.kind == BlockKind::kInputs ? block.outputs : block.inputs;
    std::vector<Text> names;
    for (const auto& v : values) names.push_back(T(v.name));
    for (auto& text : ItemsLines(names, limit, kMaxNameLines, U", ")) {
      lines.push_back(Plain(std::move(text)));
    }
    return lines;
  }
  lines.push_back(Plain(T(CountText(block.nodes, "node") + " \u00b7 " +
                          FormatBytes(block.param_bytes) + " parameters"),
                        Style::kDim));
  for (auto& text : ItemsLines(OpItems(block), limit, kMaxOpLines, U" \u00b7 ")) {
    lines.push_back(Plain(std::move(text)));
  }
  if (!block.unlinked.empty()) {
    std::vector<Text> names;
    for (const auto& name : block.unlinked) names.push_back(T(name));
    for (auto& text : ItemsLines(names, limit - 16, 1, U", ")) {
      lines.push_back(Plain(std::move(text), Style::kDim));
    }
    auto& spans = lines.back().spans;
    spans.insert(spans.begin(), Span{U"not on an edge: ", Style::kDim});
  }
  return lines;
}

// "name  dtype[shape]  ◆ marker, ...", the name padded to `name_width` so
// that types line up; the marks wrap to a second line when the first is
// full.
std::vector<Line> TensorLines(const TensorLabel& tensor, std::size_t limit,
                              std::size_t name_width) {
  Text name = Cut(T(tensor.name), limit);
  name.resize(std::max(name.size(), std::min(name_width, limit / 2)), U' ');
  const std::size_t type_limit =
      limit > name.size() + 4 ? limit - name.size() : 4;
  const Text type_text = Cut(T("  " + tensor.TypeText()), type_limit);
  Line first{{Span{name, Style::kBold}, Span{type_text, Style::kType}}};
  if (tensor.marks.empty()) return {first};
  std::vector<Text> markers;
  for (const auto& marker : tensor.marks) markers.push_back(T(marker));
  const Text marks = U"  \u25c6 " + Join(markers, U", ");
  if (first.text().size() + marks.size() <= limit) {
    first.spans.push_back(Span{marks, Style::kMark});
    return {first};
  }
  return {first, Plain(Cut(marks, limit), Style::kMark)};
}

// A lane per side edge such that edges spanning overlapping blocks never
// share one (greedy interval colouring).
std::vector<std::size_t> Lanes(const std::vector<std::pair<std::size_t, std::size_t>>& edges) {
  std::vector<std::size_t> lanes;
  std::vector<std::vector<std::pair<std::size_t, std::size_t>>> taken;
  for (const auto& [a, b] : edges) {
    const std::size_t lo = std::min(a, b);
    const std::size_t hi = std::max(a, b);
    std::size_t lane = 0;
    for (; lane < taken.size(); ++lane) {
      const auto& spans = taken[lane];
      if (std::all_of(spans.begin(), spans.end(), [&](const auto& s) {
            return hi < s.first || lo > s.second;
          })) {
        break;
      }
    }
    if (lane == taken.size()) taken.emplace_back();
    taken[lane].emplace_back(lo, hi);
    lanes.push_back(lane);
  }
  return lanes;
}

std::string StyleAttr(Style style) {
  switch (style) {
    case Style::kBold:
      return " font-weight=\"bold\"";
    case Style::kType:
      return " fill=\"#333333\"";
    case Style::kMark:
      return " fill=\"#9a4d00\"";
    case Style::kDim:
      return " fill=\"#555555\"";
    case Style::kPlain:
      break;
  }
  return "";
}

std::string TextSvg(double x, double y, const Line& line) {
  std::string spans;
  for (const Span& s : line.spans) {
    spans += s.style == Style::kPlain
                 ? EscapeXml(s.text)
                 : "<tspan" + StyleAttr(s.style) + ">" + EscapeXml(s.text) + "</tspan>";
  }
  const Text full = line.text();
  const std::string tip = full.find(U'\u2026') != Text::npos
                              ? "<title>" + EscapeXml(full) + "</title>"
                              : "";
  return "<text x=\"" + Fixed1(x) + "\" y=\"" + Fixed1(y) +
         "\" xml:space=\"preserve\">" + tip + spans + "</text>";
}

std::string PathSvg(const std::string& d) {
  return "<path d=\"" + d + "\" fill=\"none\" stroke=\"#444444\" stroke-width=\"1.5\"/>";
}

enum class Direction { kDown, kRight, kLeft };

std::string ArrowheadSvg(double x, double y, Direction direction) {
  std::vector<std::pair<double, double>> points;
  switch (direction) {
    case Direction::kDown:
      points = {{x - 5, y - 8}, {x + 5, y - 8}, {x, y}};
      break;
    case Direction::kRight:
      points = {{x - 8, y - 5}, {x - 8, y + 5}, {x, y}};
      break;
    case Direction::kLeft:
      points = {{x + 8, y - 5}, {x + 8, y + 5}, {x, y}};
      break;
  }
  std::string text = "<polygon points=\"";
  for (std::size_t i = 0; i < points.size(); ++i) {
    text += (i ? " " : "") + Fixed1(points[i].first) + "," + Fixed1(points[i].second);
  }
  return text + "\" fill=\"#444444\"/>";
}

struct Placed {
  const Block* block;
  std::vector<Line> lines;
  int top = 0;
  int height = 0;
  int bottom() const { return top + height; }
};

std::vector<std::string> BlockSvg(const Placed& p, int x, int width,
                                  std::size_t colour) {
  std::string fill = "#ffffff";
  std::string dash;
  if (p.block->kind == BlockKind::kPartition) {
    fill = kPalette[colour % std::size(kPalette)];
  } else if (p.block->kind == BlockKind::kUncut) {
    fill = "#eeeeee";
    dash = " stroke-dasharray=\"6 4\"";
  }
  const auto limit = static_cast<std::size_t>((width - 2 * kPad) / kTitleCharW);
  const Text title = T(p.block->title);
  const Text shown = Cut(title, limit);
  const std::string tip =
      shown != title ? "<title>" + EscapeXml(title) + "</title>" : "";
  std::vector<std::string> parts = {
      "<rect x=\"" + std::to_string(x) + "\" y=\"" + Fixed1(p.top) +
          "\" width=\"" + std::to_string(width) + "\" height=\"" +
          Fixed1(p.height) + "\" rx=\"6\" fill=\"" + fill +
          "\" stroke=\"#555555\" stroke-width=\"1.2\"" + dash + "/>",
      "<text x=\"" + std::to_string(x + kPad) + "\" y=\"" +
          Fixed1(p.top + kPad + 13) + "\" font-size=\"" +
          std::to_string(kTitleFont) + "\" font-weight=\"bold\">" + tip +
          EscapeXml(shown) + "</text>"};
  for (std::size_t k = 0; k < p.lines.size(); ++k) {
    parts.push_back(TextSvg(x + kPad,
                            p.top + kPad + 20 + static_cast<int>(k + 1) * kLine - 4,
                            p.lines[k]));
  }
  return parts;
}

// A line under a block: a tensor of an edge, or the "↳ to" line of a side
// edge.
struct GapRow {
  bool to;
  std::size_t edge;
  Line line;
};

}  // namespace

std::string RenderMapSvg(const PartitionMap& map) {
  const auto& blocks = map.blocks;
  const auto& edges = map.edges;
  const std::size_t limit = kMapMaxLineChars;
  auto straight = [&](const Edge& e) { return e.dst == e.src + 1; };
  std::vector<std::size_t> skips;
  std::vector<std::size_t> backs;
  for (std::size_t i = 0; i < edges.size(); ++i) {
    if (edges[i].dst > edges[i].src + 1) skips.push_back(i);
    if (edges[i].dst <= edges[i].src) backs.push_back(i);
  }
  auto spans_of = [&](const std::vector<std::size_t>& group) {
    std::vector<std::pair<std::size_t, std::size_t>> spans;
    for (const std::size_t i : group) spans.emplace_back(edges[i].src, edges[i].dst);
    return spans;
  };
  const auto left_lanes = Lanes(spans_of(skips));
  const auto right_lanes = Lanes(spans_of(backs));
  const int n_left = left_lanes.empty()
                         ? 0
                         : static_cast<int>(*std::max_element(left_lanes.begin(), left_lanes.end())) + 1;
  const int n_right = right_lanes.empty()
                          ? 0
                          : static_cast<int>(*std::max_element(right_lanes.begin(), right_lanes.end())) + 1;

  // Lines of every block and of every gap (the tensors leaving the block).
  std::vector<Placed> placed;
  for (const Block& b : blocks) placed.push_back({&b, BlockLines(b, limit)});
  std::vector<std::vector<GapRow>> gap_rows(blocks.size());
  for (std::size_t i = 0; i < edges.size(); ++i) {
    const Edge& e = edges[i];
    auto& rows = gap_rows.at(e.src);
    if (!straight(e)) {
      rows.push_back({true, i,
                      Plain(U"\u21b3 to " + Cut(T(blocks.at(e.dst).title), limit - 8),
                            Style::kDim)});
    }
    std::size_t name_width = 0;
    for (const auto& t : e.tensors) name_width = std::max(name_width, T(t.name).size());
    for (const auto& t : e.tensors) {
      for (auto& line : TensorLines(t, limit, name_width)) {
        rows.push_back({false, i, std::move(line)});
      }
    }
  }
  // Straight edges first under each block, then side edges.
  for (auto& rows : gap_rows) {
    std::stable_sort(rows.begin(), rows.end(), [&](const GapRow& a, const GapRow& b) {
      return straight(edges[a.edge]) && !straight(edges[b.edge]);
    });
  }

  const std::size_t count = map.Partitions().size();
  const auto n_marks = static_cast<int64_t>(map.marks.size());
  const Text header =
      T(map.title + ": " + CountText(map.total_nodes - n_marks, "node") +
        " and " + CountText(n_marks, "mark") + ", cut into " +
        CountText(static_cast<int64_t>(count), "partition"));
  const Text legend =
      U"\u25c6 marks a tensor passes (func[call]:type) \u00b7 dtype[shape], "
      U"dynamic dims by name";
  std::size_t widest_chars = std::max(Cut(header, limit).size(), legend.size());
  for (const Placed& p : placed) {
    for (const Line& line : p.lines) widest_chars = std::max(widest_chars, line.text().size());
  }
  std::size_t widest_title = 0;
  for (const Block& b : blocks) widest_title = std::max(widest_title, Cut(T(b.title), limit).size());
  std::size_t widest_row = 0;
  for (const auto& rows : gap_rows) {
    for (const GapRow& row : rows) widest_row = std::max(widest_row, row.line.text().size());
  }
  const int width = static_cast<int>(std::ceil(std::max(
      {static_cast<double>(kMinWidth), 2 * kPad + widest_chars * kCharW,
       2 * kPad + widest_title * kTitleCharW,
       kLabelX + kPad + widest_row * kCharW})));
  const int col_x = kMargin + (n_left ? n_left * kLane + kLane : 0);
  const int total_w =
      col_x + width + (n_right ? n_right * kLane + kLane : 0) + kMargin;

  // Vertical layout: header, then each block followed by its gap.
  int y = kMargin + kLine;
  const int header_y = y;
  y += kLine / 2;
  std::vector<int> gap_top;
  for (std::size_t i = 0; i < placed.size(); ++i) {
    Placed& p = placed[i];
    p.top = y;
    p.height = kPad + 20 + static_cast<int>(p.lines.size()) * kLine + kPad - 4;
    const auto& rows = gap_rows[i];
    gap_top.push_back(p.bottom() + 12);
    if (!rows.empty()) {
      y = p.bottom() + 12 + static_cast<int>(rows.size()) * kLine + 10;
    } else {
      y = p.bottom() + (i + 1 < placed.size() ? 28 : 0);
    }
  }
  const int legend_y = y + kLine;
  const int total_h = legend_y + kMargin;

  auto row_baseline = [&](std::size_t i, std::size_t k) {
    return gap_top[i] + static_cast<double>(k) * kLine + kLine * 0.7;
  };
  // Where a side edge leaves: level with its "↳ to" line.
  auto side_row_y = [&](std::size_t edge) {
    const auto& rows = gap_rows[edges[edge].src];
    std::size_t k = 0;
    while (k < rows.size() && !(rows[k].to && rows[k].edge == edge)) ++k;
    return row_baseline(edges[edge].src, k) - 4;
  };
  // Side edges enter their target at spread-out heights, per side.
  std::vector<int> entry_k(edges.size(), 0);
  for (const auto* group : {&skips, &backs}) {
    for (std::size_t a = 0; a < group->size(); ++a) {
      for (std::size_t b = 0; b < a; ++b) {
        if (edges[(*group)[b]].dst == edges[(*group)[a]].dst) ++entry_k[(*group)[a]];
      }
    }
  }
  auto entry_y = [&](std::size_t edge) {
    const Placed& target = placed[edges[edge].dst];
    return std::min(target.top + 12 + 7 * entry_k[edge], target.bottom() - 6);
  };

  std::vector<std::string> out = {TextSvg(col_x, header_y, Plain(Cut(header, limit), Style::kDim))};
  std::size_t colour = 0;
  for (const Placed& p : placed) {
    for (auto& part : BlockSvg(p, col_x, width, colour)) out.push_back(std::move(part));
    colour += p.block->kind == BlockKind::kPartition;
  }
  for (std::size_t i = 0; i < placed.size(); ++i) {
    for (std::size_t k = 0; k < gap_rows[i].size(); ++k) {
      out.push_back(TextSvg(col_x + kLabelX, row_baseline(i, k), gap_rows[i][k].line));
    }
  }
  for (const Edge& e : edges) {
    if (!straight(e)) continue;
    const int x = col_x + kArrowX;
    out.push_back(PathSvg("M" + std::to_string(x) + "," + Fixed1(placed[e.src].bottom()) +
                          " V" + Fixed1(placed[e.dst].top - 7)));
    out.push_back(ArrowheadSvg(x, placed[e.dst].top, Direction::kDown));
  }
  for (std::size_t s = 0; s < skips.size(); ++s) {
    const std::size_t edge = skips[s];
    const int x_lane = col_x - kLane * static_cast<int>(left_lanes[s] + 1);
    const int ey = entry_y(edge);
    out.push_back(PathSvg("M" + std::to_string(col_x + 10) + "," +
                          Fixed1(placed[edges[edge].src].bottom()) + " V" +
                          Fixed1(side_row_y(edge)) + " H" + std::to_string(x_lane) +
                          " V" + Fixed1(ey) + " H" + std::to_string(col_x - 7)));
    out.push_back(ArrowheadSvg(col_x, ey, Direction::kRight));
  }
  for (std::size_t s = 0; s < backs.size(); ++s) {
    const std::size_t edge = backs[s];
    const int x_lane = col_x + width + kLane * static_cast<int>(right_lanes[s] + 1);
    const int ey = entry_y(edge);
    out.push_back(PathSvg("M" + std::to_string(col_x + width - 6) + "," +
                          Fixed1(placed[edges[edge].src].bottom()) + " V" +
                          Fixed1(side_row_y(edge)) + " H" + std::to_string(x_lane) +
                          " V" + Fixed1(ey) + " H" + std::to_string(col_x + width + 7)));
    out.push_back(ArrowheadSvg(col_x + width, ey, Direction::kLeft));
  }
  out.push_back(TextSvg(col_x, legend_y, Plain(legend, Style::kDim)));

  const std::string w = std::to_string(total_w);
  const std::string h = std::to_string(total_h);
  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + w +
                    "\" height=\"" + h + "\" viewBox=\"0 0 " + w + " " + h +
                    "\" font-family=\"" + kFontFamily + "\" font-size=\"" +
                    std::to_string(kFont) + "\" role=\"img\" aria-label=\"" +
                    EscapeXml(header) + "\">\n<title>" + EscapeXml(header) +
                    "</title>\n<rect width=\"" + w + "\" height=\"" + h +
                    "\" fill=\"#ffffff\"/>\n";
  for (const auto& part : out) svg += part + "\n";
  return svg + "</svg>\n";
}

std::string MapSvgFile(const PartitionMap& map) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + RenderMapSvg(map);
}

void WritePartitionMap(const PartitionMap& map, const std::string& path,
                       const WriteOptions& options) {
  WriteOptions with_map = options;
  with_map.files.emplace_back(path, MapSvgFile(map));
  WriteModelsAtomically({}, with_map);
}

}  // namespace mmdeploy::partition
