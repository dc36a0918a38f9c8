using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Moe.Web.Tests;

/// <summary>The apps' error logs (with exceptions), kept so a failing assertion on a 500 can show what the server said.</summary>
public sealed class ServerErrors : ILoggerProvider
{
    static readonly ConcurrentQueue<string> Entries = new();
    static long _logged;

    /// <summary>How many errors have been logged so far (a change means a new one, even if it reads like the last).</summary>
    public static long Logged => Interlocked.Read(ref _logged);

    /// <summary>The last few errors any app under test logged.</summary>
    public static string Recent(int count = 3) => string.Join("\n---\n", Entries.TakeLast(count));

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName);

    public void Dispose() { }

    sealed class Logger(string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Error;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            Entries.Enqueue($"{logLevel} {category}: {formatter(state, exception)}\n{exception}");
            Interlocked.Increment(ref _logged);
            while (Entries.Count > 50) Entries.TryDequeue(out _);
        }
    }
}
