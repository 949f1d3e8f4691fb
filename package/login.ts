/**
 * The application's side of the data contract, for plain Node (ESM `import` or CommonJS `require`): call
 * `recordLogin` on sign-up and on every login. Its only runtime dependencies are `@aws-sdk/lib-dynamodb` and
 * `@aws-sdk/util-dynamodb`; nothing from the CDK or the Lambda runtime is loaded.
 *
 * @example
 * ```ts
 * import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
 * import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
 * import { recordLogin } from 'passive-user-checker/login';
 *
 * const documents = DynamoDBDocumentClient.from(new DynamoDBClient({}));
 * await recordLogin(documents, { tableName: 'Users', userId: user.id });
 * ```
 *
 * @module passive-user-checker/login
 */
export * from '../functions/login-helper/index';
