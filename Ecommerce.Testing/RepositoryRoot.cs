namespace Ecommerce.Testing;

/// <summary>The checkout the running tests or benchmark were built from: the folder that holds Ecommerce.sln.</summary>
public static class RepositoryRoot
{
    /// <summary>Walks up from the running binaries to the folder of Ecommerce.sln.</summary>
    public static string Find()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Ecommerce.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName
            ?? throw new DirectoryNotFoundException($"No Ecommerce.sln above {AppContext.BaseDirectory}: run from within the repository.");
    }
}
