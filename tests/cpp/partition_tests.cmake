# partition tests are added here.
