import HubCore
import HubDrivers
import Testing

@Suite("Scroll text and the 5×7 font")
struct ScrollTextTests {
    static let required = Array("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ :.-%°")
    let colour = RGB5(red: 31, green: 12, blue: 3)

    /// Whether `frame` has `colour` at (row, column), failing on any third colour.
    func lit(_ frame: LEDFrame, _ row: Int, _ column: Int) -> Bool {
        let pixel = frame[row, column]
        #expect(pixel == colour || pixel == .off)
        return pixel == colour
    }

    func litColumns(_ frame: LEDFrame) -> [Int] {
        (0..<8).filter { column in (0..<8).contains { lit(frame, $0, column) } }
    }

    @Test("the font draws every required character, each differently, none as the box")
    func coverage() throws {
        var seen: [Glyph] = []
        for character in Self.required {
            let glyph = try #require(Font5x7.glyph(for: character), "no glyph for \(character)")
            #expect(glyph != Font5x7.box, "\(character) drawn as the box")
            #expect(!seen.contains(glyph), "\(character) looks like another character")
            #expect((1...5).contains(glyph.width))
            #expect(glyph.columns.allSatisfy { $0 < 0x80 }, "seven rows only")
            if character != " " { #expect(glyph.columns.contains { $0 != 0 }, "\(character) has ink") }
            seen.append(glyph)
        }
        #expect(Font5x7.glyph(for: "€") == nil)
    }

    @Test("glyphs read as drawn: H is two posts and a bar on its fourth row")
    func glyphShape() throws {
        let h = try #require(Font5x7.glyph(for: "H"))
        #expect(h.columns == [0x7F, 0x08, 0x08, 0x08, 0x7F])
        let dot = try #require(Font5x7.glyph(for: "."))
        #expect(dot.width == 1 && dot.isLit(row: 6, column: 0) && !dot.isLit(row: 5, column: 0))
    }

    @Test("H scrolls in from the right one column per frame and leaves the matrix dark")
    func scrollH() throws {
        let frames = ScrollText.frames(for: "H", colour: colour)
        #expect(frames.count == 5 + 8)
        // Frame 0: the H's left post alone, on the right edge, rows 1–7.
        #expect(litColumns(frames[0]) == [7])
        #expect((1...7).allSatisfy { lit(frames[0], $0, 7) })
        #expect(!lit(frames[0], 0, 7), "row 0 stays dark")
        #expect(litColumns(frames[1]) == [6, 7])
        #expect(lit(frames[1], 4, 7) && !lit(frames[1], 3, 7), "the bar is on glyph row 3, matrix row 4")
        // Frame 4: the whole H in columns 3–7.
        #expect(litColumns(frames[4]) == [3, 4, 5, 6, 7])
        #expect((1...7).allSatisfy { lit(frames[4], $0, 3) && lit(frames[4], $0, 7) })
        // Frame 11: only the right post, at the left edge; frame 12 is dark.
        #expect(litColumns(frames[11]) == [0])
        #expect(frames[12] == LEDFrame(filledWith: .off))
    }

    @Test("frame count is text width + 8; widths include one dark column between glyphs",
          arguments: [("t: 21.40", 35), ("H", 5), ("", 0), ("  ", 5), ("°C", 9), ("50%", 17)])
    func frameCount(text: String, width: Int) {
        #expect(ScrollText.width(of: text) == width)
        #expect(ScrollText.frames(for: text, colour: colour).count == width + 8)
    }

    @Test("every frame is the previous one moved left, with the next text column entering on the right")
    func shifting() throws {
        let text = "t: 21.40°C"
        let columns = ScrollText.columns(for: text)
        let frames = ScrollText.frames(for: text, colour: colour)
        for index in 1..<frames.count {
            for row in 0..<8 {
                for column in 0..<7 {
                    #expect(frames[index][row, column] == frames[index - 1][row, column + 1])
                }
            }
        }
        for (index, bits) in columns.enumerated() {
            for glyphRow in 0..<7 {
                #expect(lit(frames[index], glyphRow + 1, 7) == (bits & (1 << UInt8(glyphRow)) != 0))
            }
        }
        #expect(frames.last == LEDFrame(filledWith: .off))
    }

    @Test("unknown characters draw as a box and never crash", arguments: ["€", "👍🏽", "\u{0}", "é", "\n", "日本"])
    func unknown(text: String) {
        let frames = ScrollText.frames(for: text, colour: colour)
        #expect(frames.count == ScrollText.width(of: text) + 8)
        #expect(ScrollText.columns(for: text).prefix(5) == Font5x7.box.columns[...])
    }

    @Test("random strings never crash the renderer and always give width + 8 frames",
          arguments: Array(UInt64(1)...UInt64(20)))
    func fuzz(seed: UInt64) {
        var random = SeededRandom(seed: seed)
        for _ in 0..<25 {
            var text = ""
            for _ in 0..<random.nextInt(in: 0...24) {
                // Mostly printable ASCII, sometimes any scalar (including combining marks).
                let value = random.chance(0.8) ? random.nextInt(in: 0x20...0x7E) : random.nextInt(in: 0...0x10FFFF)
                if let scalar = Unicode.Scalar(UInt32(value)) { text.unicodeScalars.append(scalar) }
            }
            let expectedWidth = text.reduce(0) { $0 + (Font5x7.glyph(for: $1) ?? Font5x7.box).width }
                + max(0, text.count - 1)
            #expect(ScrollText.width(of: text) == expectedWidth)
            let frames = ScrollText.frames(for: text, colour: colour)
            #expect(frames.count == expectedWidth + 8)
            #expect(frames.allSatisfy { $0.pixels.allSatisfy { $0 == colour || $0 == .off } })
            #expect(frames.last == LEDFrame(filledWith: .off))
        }
    }
}
