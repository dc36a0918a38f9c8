namespace Moe.Platform.Tests;

/// <summary>The one rule for stored user text: trimmed, bounded, no control characters (line breaks in descriptions only).</summary>
public class TextRulesTests
{
    [Theory]
    [InlineData("  Sweep A  ", "Sweep A")]
    [InlineData("Ünïcödé ✓ 模型", "Ünïcödé ✓ 模型")]
    [InlineData("emoji 🚀", "emoji 🚀")]
    public void A_name_is_trimmed_and_kept(string given, string stored) => Assert.Equal(stored, TextRules.Name(given, "name"));

    [Theory]
    [InlineData(null, "is required")]
    [InlineData("   ", "is required")]
    [InlineData("nul\0", "control characters (U+0000")]
    [InlineData("two\r\nlines", "control characters (U+000D")]
    [InlineData("tab\there", "control characters (U+0009")]
    [InlineData("bell\u0007", "control characters")]
    public void A_bad_name_is_refused_naming_the_field(string? given, string fragment)
    {
        var e = Assert.Throws<PlatformException>(() => TextRules.Name(given, "display_name"));
        Assert.Equal("display_name", e.Field);
        Assert.Contains(fragment, e.Problem);
    }

    [Fact]
    public void Lengths_are_bounded_and_descriptions_keep_their_lines()
    {
        Assert.Equal(200, TextRules.Name(new string('n', 200), "name").Length);
        Assert.Contains("at most 200", Assert.Throws<PlatformException>(() => TextRules.Name(new string('n', 201), "name")).Problem);
        Assert.Contains("at most 4000", Assert.Throws<PlatformException>(() => TextRules.Description(new string('d', 4001), "description")).Problem);
        Assert.Equal("one\ntwo\n\tindented", TextRules.Description(" one\r\ntwo\n\tindented ", "description"));
        Assert.Null(TextRules.Description("  ", "description"));
        Assert.Null(TextRules.OptionalName(null, "name"));
        Assert.Contains("U+0000", Assert.Throws<PlatformException>(() => TextRules.Description("a\0b", "description")).Problem);
        Assert.Contains("lone surrogate", Assert.Throws<PlatformException>(() => TextRules.Name("lone " + (char)0xD800 + " x", "name")).Problem);
    }
}
