// Generated file. DO NOT MODIFY IT BY HAND.

export interface Settings {
  /**
   * Your public key
   */
  public_key: string
}
