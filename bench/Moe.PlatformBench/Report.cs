using System.Text;
using Spectre.Console;

namespace Moe.PlatformBench;

/// <summary>A result table: printed to the terminal as it completes, and collected into one Markdown file at the end.</summary>
public sealed class ResultTable(string title, params string[] columns)
{
    readonly List<string[]> _rows = [];
    readonly List<string> _notes = [];
    public string Title => title;

    public ResultTable Row(params string[] cells)
    {
        if (cells.Length != columns.Length) throw new ArgumentException($"{title}: {cells.Length} cells for {columns.Length} columns");
        _rows.Add(cells);
        return this;
    }

    public ResultTable Note(string note)
    {
        _notes.Add(note);
        return this;
    }

    public void Print()
    {
        var table = new Table { Title = new TableTitle(Markup.Escape(title)) }.Border(TableBorder.Rounded);
        for (int i = 0; i < columns.Length; i++)
        {
            var column = new TableColumn(Markup.Escape(columns[i]));
            if (i > 0) column.RightAligned();
            table.AddColumn(column);
        }
        foreach (var row in _rows) table.AddRow(row.Select(Markup.Escape).ToArray());
        AnsiConsole.Write(table);
        foreach (var note in _notes) AnsiConsole.MarkupLine($"  [grey]{Markup.Escape(note)}[/]");
    }

    public void AppendMarkdown(StringBuilder markdown)
    {
        markdown.AppendLine($"### {title}").AppendLine();
        markdown.AppendLine("| " + string.Join(" | ", columns) + " |");
        markdown.AppendLine("|" + string.Join("|", columns.Select((_, i) => i == 0 ? " --- " : " ---: ")) + "|");
        foreach (var row in _rows) markdown.AppendLine("| " + string.Join(" | ", row) + " |");
        markdown.AppendLine();
        foreach (var note in _notes) markdown.AppendLine(note).AppendLine();
    }
}

/// <summary>Everything one invocation measured, and the progress lines on the way.</summary>
public sealed class Report
{
    public List<ResultTable> Tables { get; } = [];
    public List<string> Environment { get; } = [];

    public static void Progress(string message) =>
        AnsiConsole.MarkupLine($"[grey]{DateTime.Now:HH:mm:ss}[/] {Markup.Escape(message)}");

    public void Add(ResultTable table)
    {
        Tables.Add(table);
        table.Print();
    }

    public string ToMarkdown(string command)
    {
        var markdown = new StringBuilder();
        markdown.AppendLine($"Command: `{command}`").AppendLine();
        foreach (var line in Environment) markdown.AppendLine($"* {line}");
        markdown.AppendLine();
        foreach (var table in Tables) table.AppendMarkdown(markdown);
        return markdown.ToString();
    }
}
