namespace Moe.Model.Data;

/// <summary>Bad dataset input: the message starts with <c>file:line:</c> so the place to fix is named.</summary>
public sealed class DataException : Exception
{
    public string File { get; }
    /// <summary>1-based line number; 0 when the problem concerns the file as a whole.</summary>
    public int Line { get; }

    public DataException(string file, int line, string message, Exception? inner = null)
        : base(line > 0 ? $"{file}:{line}: {message}" : $"{file}: {message}", inner)
    {
        File = file;
        Line = line;
    }
}
